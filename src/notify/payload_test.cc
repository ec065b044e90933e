#include "notify/payload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>


namespace tocsin::notify {
namespace {

using nlohmann::json;

store::Incident sample_incident() {
  store::Incident inc;
  inc.id = 42;
  inc.title = "System crash: load 0.97 on h1";
  inc.plan = "system_crash";
  inc.severity = "critical";
  inc.group_key = "system_crash|alertname=HighLoad";
  inc.opened_at = core::from_unix_ms(1'796'402'400'000);
  inc.alerts.push_back({0xfedcba9876543210ULL, core::Labels{{"alertname", "HighLoad"}, {"instance", "h1"}},
                        store::AlertState::kFiring, inc.opened_at});
  inc.alerts.push_back({1, core::Labels{{"alertname", "HighLoad"}, {"instance", "h2"}}, store::AlertState::kResolved,
                        inc.opened_at});
  return inc;
}

TEST(Payload, TocsinJson) {
  const auto inc = sample_incident();
  const json body = json::parse(tocsin_json({inc, "schedule:ops", "bob", "http://tocsin.example/", 2, 1, ""}));
  EXPECT_EQ(body["version"], "1");
  EXPECT_EQ(body["incident"]["id"], "42");
  EXPECT_EQ(body["incident"]["url"], "http://tocsin.example/#/incidents/42");
  EXPECT_EQ(body["incident"]["opened_at"], "2026-12-04T16:40:00Z");
  EXPECT_EQ(body["target"], "schedule:ops");
  EXPECT_EQ(body["recipient"], "bob");
  EXPECT_EQ(body["escalation"]["level"], 2);
  EXPECT_EQ(body["alerts"][0]["fingerprint"], "fedcba9876543210");
  EXPECT_EQ(body["alerts"][1]["status"], "resolved");
}

TEST(Payload, AlertmanagerWebhookV4) {
  const auto inc = sample_incident();
  const json body = json::parse(alertmanager_v4({inc, "channel:ops-hook", "ops-hook", "http://t", 1, 1, ""}, "ops-hook"));
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["status"], "firing");  // one alert still firing
  EXPECT_EQ(body["receiver"], "ops-hook");
  EXPECT_EQ(body["groupKey"], inc.group_key);
  EXPECT_EQ(body["commonLabels"], json({{"alertname", "HighLoad"}}));
  ASSERT_EQ(body["alerts"].size(), 2u);
  EXPECT_EQ(body["alerts"][0]["labels"]["instance"], "h1");
  EXPECT_EQ(body["alerts"][0]["startsAt"], "2026-12-04T16:40:00Z");
  for (const char* key : {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}) {
    EXPECT_TRUE(body["alerts"][0].contains(key)) << key;
  }
  for (const char* key : {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                          "commonAnnotations", "externalURL", "alerts"}) {
    EXPECT_TRUE(body.contains(key)) << key;
  }
}

TEST(Payload, TocsinJsonCarriesTheAckLink) {
  const auto inc = sample_incident();
  PageContext page{inc, "person:bob", "bob", "http://t", 1, 1, ""};
  EXPECT_FALSE(json::parse(tocsin_json(page)).contains("ack_url"));
  page.ack_url = "http://t/api/v1/ack/abc.def";
  EXPECT_EQ(json::parse(tocsin_json(page))["ack_url"], "http://t/api/v1/ack/abc.def");
}

TEST(Payload, SlackPageHasBlocksAndAnAcknowledgeButton) {
  auto inc = sample_incident();
  inc.title = "a <b> & c";
  PageContext page{inc, "person:bob", "bob", "http://t", 1, 1, ""};
  page.ack_url = "http://t/api/v1/ack/abc.def";
  const json body = json::parse(slack_page(page));
  EXPECT_EQ(body["text"], "[critical] Incident #42: a <b> & c (triggered, http://t/#/incidents/42)");
  ASSERT_EQ(body["blocks"].size(), 2u);
  const std::string section = body["blocks"][0]["text"]["text"];
  EXPECT_TRUE(section.starts_with("*[critical] Incident #42: a &lt;b&gt; &amp; c*")) << section;
  EXPECT_NE(section.find("• firing alertname=HighLoad, instance=h1"), std::string::npos) << section;
  const json& buttons = body["blocks"][1]["elements"];
  ASSERT_EQ(buttons.size(), 2u);
  EXPECT_EQ(buttons[0]["text"]["text"], "Acknowledge");
  EXPECT_EQ(buttons[0]["url"], "http://t/api/v1/ack/abc.def");
  EXPECT_EQ(buttons[1]["url"], "http://t/#/incidents/42");

  page.ack_url.clear();
  EXPECT_EQ(json::parse(slack_page(page))["blocks"][1]["elements"].size(), 1u) << "no link, no button";
}

TEST(Payload, EveryFormatOfADrillPageStartsWithDrill) {
  auto inc = sample_incident();
  inc.drill = "7";
  inc.title = "[DRILL] System crash: load 0.97 on h1";
  const PageContext page{inc, "person:alice", "alice", "http://t", 1, 1, ""};

  const json tocsin = json::parse(tocsin_json(page));
  EXPECT_EQ(tocsin["summary"], "[DRILL] [critical] Incident #42: System crash: load 0.97 on h1 (triggered, http://t/#/incidents/42)");
  EXPECT_EQ(tocsin["drill"], "7");
  EXPECT_EQ(tocsin["incident"]["drill"], "7");
  EXPECT_EQ(tocsin["incident"]["title"], "[DRILL] System crash: load 0.97 on h1");

  const json am = json::parse(alertmanager_v4(page, "hook"));
  EXPECT_TRUE(am["commonAnnotations"]["summary"].get<std::string>().starts_with("[DRILL] ")) << am.dump();

  const json slack = json::parse(slack_page(page));
  EXPECT_TRUE(slack["text"].get<std::string>().starts_with("[DRILL] [critical] Incident #42: System crash"));
  EXPECT_TRUE(slack["blocks"][0]["text"]["text"].get<std::string>().starts_with("*[DRILL] [critical] Incident #42"));

  const json mail = json::parse(email_page(page));
  EXPECT_EQ(mail["subject"], "[DRILL] [critical] Incident #42: System crash: load 0.97 on h1");
  EXPECT_TRUE(mail["text"].get<std::string>().starts_with("[DRILL] Incident #42: System crash: load 0.97 on h1\n"));
  EXPECT_NE(mail["html"].get<std::string>().find("<h2>[DRILL] Incident #42: "), std::string::npos);

  // A real incident's pages carry no mark.
  const PageContext real{sample_incident(), "person:alice", "alice", "http://t", 1, 1, ""};
  EXPECT_FALSE(json::parse(tocsin_json(real)).contains("drill"));
  EXPECT_TRUE(json::parse(email_page(real))["subject"].get<std::string>().starts_with("[critical] "));
}

TEST(Payload, HtmlEscape) { EXPECT_EQ(html_escape(R"(<a href="x">'&'</a>)"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"); }

}  // namespace
}  // namespace tocsin::notify
