#include "notify/group_message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tocsin::notify {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int64_t kT0 = 1'796'402'400'250;  // 2026-12-04T16:40:00.25Z

GroupMessage two_alert_group() {
  GroupMessage m;
  m.receiver = "ops-hook";
  m.group_key = R"({}/{severity="major"}:{alertname="HighLoad"})";
  m.group_labels = core::Labels{{"alertname", "HighLoad"}};
  m.external_url = "http://tocsin.example/";
  m.alerts.push_back({.fingerprint = 0x0123456789abcdefULL,
                      .labels = core::Labels{{"alertname", "HighLoad"}, {"instance", "h1"}, {"service", "api"}},
                      .annotations = {{"summary", "load 0.97 on h1"}, {"runbook", "http://wiki/load"}},
                      .firing = true,
                      .starts_at = core::from_unix_ms(kT0),
                      .ends_at = std::nullopt,
                      .generator_url = "http://prom:9090/graph?g0.expr=load"});
  m.alerts.push_back({.fingerprint = 42,
                      .labels = core::Labels{{"alertname", "HighLoad"}, {"instance", "h2"}, {"service", "api"}},
                      .annotations = {{"summary", "load 0.93 on h2"}, {"runbook", "http://wiki/load"}},
                      .firing = false,
                      .starts_at = core::from_unix_ms(kT0 - 250),
                      .ends_at = core::from_unix_ms(kT0 + 60'000 - 250),
                      .generator_url = ""});
  return m;
}

std::vector<std::string> keys(const ordered_json& object) {
  std::vector<std::string> out;
  for (const auto& [k, v] : object.items()) out.push_back(k);
  return out;
}

TEST(GroupMessage, AlertmanagerV4FieldByField) {
  const std::string raw = alertmanager_v4_group(two_alert_group());
  const ordered_json body = ordered_json::parse(raw);
  // Alertmanager's field order (webhook.Message embeds template.Data).
  EXPECT_EQ(keys(body),
            (std::vector<std::string>{"receiver", "status", "alerts", "groupLabels", "commonLabels",
                                      "commonAnnotations", "externalURL", "version", "groupKey", "truncatedAlerts"}));
  EXPECT_EQ(body["receiver"], "ops-hook");
  EXPECT_EQ(body["status"], "firing");  // one of the two still fires
  EXPECT_EQ(body["groupLabels"], json({{"alertname", "HighLoad"}}));
  EXPECT_EQ(body["commonLabels"], json({{"alertname", "HighLoad"}, {"service", "api"}}));
  EXPECT_EQ(body["commonAnnotations"], json({{"runbook", "http://wiki/load"}}));
  EXPECT_EQ(body["externalURL"], "http://tocsin.example");
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["groupKey"], R"({}/{severity="major"}:{alertname="HighLoad"})");
  EXPECT_EQ(body["truncatedAlerts"], 0);

  ASSERT_EQ(body["alerts"].size(), 2u);
  const auto& firing = body["alerts"][0];
  EXPECT_EQ(keys(firing), (std::vector<std::string>{"status", "labels", "annotations", "startsAt", "endsAt",
                                                    "generatorURL", "fingerprint"}));
  EXPECT_EQ(firing["status"], "firing");
  EXPECT_EQ(firing["labels"], json({{"alertname", "HighLoad"}, {"instance", "h1"}, {"service", "api"}}));
  EXPECT_EQ(firing["annotations"]["summary"], "load 0.97 on h1");
  EXPECT_EQ(firing["startsAt"], "2026-12-04T16:40:00.25Z");  // Go's RFC3339Nano: trailing zeros dropped
  EXPECT_EQ(firing["endsAt"], "0001-01-01T00:00:00Z");       // Go's zero time while firing
  EXPECT_EQ(firing["generatorURL"], "http://prom:9090/graph?g0.expr=load");
  EXPECT_EQ(firing["fingerprint"], "0123456789abcdef");
  const auto& resolved = body["alerts"][1];
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(resolved["startsAt"], "2026-12-04T16:40:00Z");
  EXPECT_EQ(resolved["endsAt"], "2026-12-04T16:41:00Z");
  EXPECT_EQ(resolved["fingerprint"], "000000000000002a");
  EXPECT_EQ(resolved["generatorURL"], "");

  // Go's json.Encoder: a newline at the end.
  EXPECT_TRUE(raw.starts_with(R"({"receiver":"ops-hook","status":"firing","alerts":[{"status":"firing","labels":{)"));
  EXPECT_TRUE(raw.ends_with("\"truncatedAlerts\":0}\n"));
}

TEST(GroupMessage, AlertmanagerV4EscapesLikeGo) {
  GroupMessage m = two_alert_group();
  m.alerts[0].annotations["summary"] = "a < b && c > d\xe2\x80\xa8";
  const std::string raw = alertmanager_v4_group(m);
  EXPECT_NE(raw.find(R"("summary":"a \u003c b \u0026\u0026 c \u003e d\u2028")"), std::string::npos) << raw;
  EXPECT_EQ(json::parse(raw)["alerts"][0]["annotations"]["summary"], "a < b && c > d\xe2\x80\xa8");
}

TEST(GroupMessage, AlertmanagerV4WrittenDirectlyIsTheTreesBodyByteForByte) {
  // Empty groups and values, every escape, resolved and firing alerts, truncation, and text that
  // is not UTF-8 (written by the tree, with U+FFFD).
  std::vector<GroupMessage> messages;
  messages.push_back(two_alert_group());
  GroupMessage empty;
  messages.push_back(empty);
  GroupMessage escapes = two_alert_group();
  escapes.receiver = "a\"b\\c";
  escapes.group_key = "{}:{alertname=\"<&>\"}";
  escapes.alerts[0].labels = core::Labels{{"alertname", "x\ny\tz\x01"}, {"instance", "é€😀"}};
  escapes.alerts[1].annotations = {{"summary", "\u2028\u2029\x7f"}, {"", ""}};
  escapes.alerts[1].generator_url = "http://h/?a=1&b=<2>";
  escapes.truncated_alerts = 12;
  escapes.external_url = "";
  messages.push_back(escapes);
  GroupMessage broken = two_alert_group();
  broken.alerts[0].annotations["summary"] = "cut \xe2\x80";
  messages.push_back(broken);
  for (const GroupMessage& m : messages) {
    EXPECT_EQ(alertmanager_v4_group(m), alertmanager_v4_group_tree(m)) << m.receiver;
  }
  EXPECT_EQ(json::parse(alertmanager_v4_group(broken))["alerts"][0]["annotations"]["summary"], "cut \xef\xbf\xbd");
}

TEST(GroupMessage, ResolvedGroupAndTruncation) {
  GroupMessage m = two_alert_group();
  m.alerts[0].firing = false;
  m.alerts[0].ends_at = core::from_unix_ms(kT0 + 1);
  m.truncated_alerts = 3;
  const json body = json::parse(alertmanager_v4_group(m));
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["endsAt"], "2026-12-04T16:40:00.251Z");
  EXPECT_EQ(body["truncatedAlerts"], 3);
}

TEST(GroupMessage, CommonLabelsAndAnnotations) {
  GroupMessage m = two_alert_group();
  EXPECT_EQ(common_labels(m.alerts), (core::Labels{{"alertname", "HighLoad"}, {"service", "api"}}));
  EXPECT_EQ(common_annotations(m.alerts), (std::map<std::string, std::string>{{"runbook", "http://wiki/load"}}));
  m.alerts[1].labels.set("service", "web");
  EXPECT_EQ(common_labels(m.alerts), (core::Labels{{"alertname", "HighLoad"}}));
  m.alerts.resize(1);
  EXPECT_EQ(common_labels(m.alerts), m.alerts[0].labels);
  EXPECT_TRUE(common_labels({}).empty());
  EXPECT_TRUE(common_annotations({}).empty());
  // An empty group still produces a valid body.
  m.alerts.clear();
  const json body = json::parse(alertmanager_v4_group(m));
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(body["alerts"], json::array());
  EXPECT_EQ(body["commonLabels"], json::object());
}

TEST(GroupMessage, AlertmanagerOrder) {
  auto a = [](core::Labels labels) {
    GroupAlert alert;
    alert.labels = std::move(labels);
    return alert;
  };
  const auto sorted = alertmanager_order({
      a({{"alertname", "X"}}),  // no job, no instance: last group
      a({{"alertname", "X"}, {"job", "b"}}),
      a({{"alertname", "X"}, {"instance", "i1"}}),  // no job: after those with one
      a({{"alertname", "X"}, {"job", "a"}, {"instance", "i2"}}),
      a({{"alertname", "X"}, {"job", "a"}, {"instance", "i1"}}),
      a({{"alertname", "W"}, {"zone", "z"}}),
  });
  std::vector<std::string> order;
  for (const auto& g : sorted) order.push_back(g.labels.to_string());
  EXPECT_EQ(order, (std::vector<std::string>{
                       R"({alertname="X", instance="i1", job="a"})",
                       R"({alertname="X", instance="i2", job="a"})",
                       R"({alertname="X", job="b"})",
                       R"({alertname="X", instance="i1"})",
                       R"({alertname="X"})",  // fewer labels first
                       R"({alertname="W", zone="z"})",
                   }));
}

TEST(GroupMessage, TocsinJson) {
  const json body = json::parse(tocsin_json_group(two_alert_group(), "the title", "the body"));
  EXPECT_EQ(body["version"], "1");
  EXPECT_EQ(body["event"], "alert_group");
  EXPECT_EQ(body["receiver"], "ops-hook");
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["group_key"], R"({}/{severity="major"}:{alertname="HighLoad"})");
  EXPECT_EQ(body["group_labels"], json({{"alertname", "HighLoad"}}));
  EXPECT_EQ(body["common_labels"], json({{"alertname", "HighLoad"}, {"service", "api"}}));
  EXPECT_EQ(body["common_annotations"], json({{"runbook", "http://wiki/load"}}));
  EXPECT_EQ(body["external_url"], "http://tocsin.example");
  EXPECT_EQ(body["title"], "the title");
  EXPECT_EQ(body["body"], "the body");
  EXPECT_EQ(body["truncated_alerts"], 0);
  ASSERT_EQ(body["alerts"].size(), 2u);
  EXPECT_EQ(body["alerts"][0]["fingerprint"], "0123456789abcdef");
  EXPECT_EQ(body["alerts"][0]["starts_at"], "2026-12-04T16:40:00.250Z");
  EXPECT_TRUE(body["alerts"][0]["ends_at"].is_null());
  EXPECT_EQ(body["alerts"][1]["status"], "resolved");
  EXPECT_EQ(body["alerts"][1]["ends_at"], "2026-12-04T16:41:00Z");
  EXPECT_EQ(body["alerts"][1]["annotations"]["summary"], "load 0.93 on h2");
}

TEST(GroupMessage, SlackBlocks) {
  const json body = json::parse(slack_group(two_alert_group(), "[FIRING:1] HighLoad", "*load* is high"));
  EXPECT_EQ(body["text"], "[FIRING:1] HighLoad");
  ASSERT_EQ(body["blocks"].size(), 3u);
  EXPECT_EQ(body["blocks"][0]["type"], "header");
  EXPECT_EQ(body["blocks"][0]["text"],
            json({{"type", "plain_text"}, {"text", "[FIRING:1] HighLoad"}, {"emoji", true}}));
  EXPECT_EQ(body["blocks"][1]["type"], "section");
  EXPECT_EQ(body["blocks"][1]["text"], json({{"type", "mrkdwn"}, {"text", "*load* is high"}}));
  EXPECT_EQ(body["blocks"][2]["type"], "context");
  EXPECT_EQ(body["blocks"][2]["elements"][0]["type"], "mrkdwn");
  EXPECT_EQ(body["blocks"][2]["elements"][0]["text"],
            "<http://tocsin.example/#/alerts?receiver=ops-hook|View in tocsin> · 1 firing, 1 resolved");
}

TEST(GroupMessage, SlackRespectsItsLimits) {
  GroupMessage m = two_alert_group();
  m.truncated_alerts = 5;
  const std::string long_title(200, 'x');
  std::string long_body;
  for (int i = 0; i < 1500; ++i) long_body += "\xc3\xa9";  // 1500 two-byte characters
  long_body += std::string(2000, 'y');
  const json body = json::parse(slack_group(m, long_title, long_body));
  const std::string title = body["blocks"][0]["text"]["text"];
  EXPECT_EQ(title, std::string(149, 'x') + "…");
  const std::string section = body["blocks"][1]["text"]["text"];
  EXPECT_TRUE(section.ends_with("y…"));
  EXPECT_EQ(section.size(), 1500u * 2 + 1499 + 3);  // 2999 characters and the ellipsis
  EXPECT_TRUE(body["blocks"][2]["elements"][0]["text"].get<std::string>().ends_with(", 5 more not shown"));
  EXPECT_EQ(body["text"], long_title);

  // Empty title and body: no header or section (Slack rejects empty ones), a fallback text.
  const json bare = json::parse(slack_group(m, "", ""));
  ASSERT_EQ(bare["blocks"].size(), 1u);
  EXPECT_EQ(bare["blocks"][0]["type"], "context");
  EXPECT_EQ(bare["text"], "[firing] ops-hook");
}

TEST(GroupMessage, EmailHasSubjectTextAndEscapedHtmlButNoAckLink) {
  const json mail = json::parse(email_group(two_alert_group(), "[FIRING:1] HighLoad", "load <b>high</b> & rising\n"));
  EXPECT_EQ(mail["subject"], "[FIRING:1] HighLoad");
  EXPECT_EQ(mail["text"], "load <b>high</b> & rising\n");
  const std::string html = mail["html"];
  EXPECT_NE(html.find("<pre style=\"white-space: pre-wrap\">load &lt;b&gt;high&lt;/b&gt; &amp; rising\n</pre>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("href=\"http://tocsin.example/#/alerts?receiver=ops-hook\""), std::string::npos) << html;
  EXPECT_EQ(html.find("/api/v1/ack/"), std::string::npos);
  EXPECT_EQ(json::parse(email_group(two_alert_group(), "", "b"))["subject"], "[firing] ops-hook");
}

std::string render(std::string_view text, const GroupMessage& m) {
  auto t = Template::parse(text);
  if (!t) return "PARSE ERROR: " + t.error().to_string();
  auto out = t->render(template_data(m));
  return out ? *out : "RENDER ERROR: " + out.error().to_string();
}

TEST(GroupMessage, TemplateDataHasAlertmanagersShape) {
  const GroupMessage m = two_alert_group();
  EXPECT_EQ(render("{{ .Receiver }}|{{ .Status }}|{{ .GroupKey }}|{{ .ExternalURL }}", m),
            R"(ops-hook|firing|{}/{severity="major"}:{alertname="HighLoad"}|http://tocsin.example)");
  EXPECT_EQ(render("{{ .FiringCount }}/{{ .ResolvedCount }}/{{ .TruncatedAlerts }} {{ len .Alerts.Firing }}", m),
            "1/1/0 1");
  EXPECT_EQ(render("{{ .GroupLabels.alertname }} {{ .CommonLabels.Names }} {{ .CommonAnnotations.runbook }}", m),
            "HighLoad [alertname service] http://wiki/load");
  EXPECT_EQ(render("{{ range .Alerts }}{{ .Status }} {{ .Fingerprint }} {{ .StartsAt }} {{ .EndsAt }} "
                   "{{ .Labels.instance }} {{ .Annotations.summary }} [{{ .GeneratorURL }}]\n{{ end }}",
                   m),
            "firing 0123456789abcdef 2026-12-04T16:40:00.25Z 0001-01-01T00:00:00Z h1 load 0.97 on h1 "
            "[http://prom:9090/graph?g0.expr=load]\n"
            "resolved 000000000000002a 2026-12-04T16:40:00Z 2026-12-04T16:41:00Z h2 load 0.93 on h2 []\n");
}

TEST(GroupMessage, DefaultTitle) {
  GroupMessage m = two_alert_group();
  m.alerts[1].firing = true;
  EXPECT_EQ(render(kDefaultTitleTemplate, m), "[FIRING:2] HighLoad (api)");
  m.alerts[0].firing = m.alerts[1].firing = false;
  EXPECT_EQ(render(kDefaultTitleTemplate, m), "[RESOLVED] HighLoad (api)");
  m.group_labels = core::Labels{};  // group_by: [] — only the shared labels
  EXPECT_EQ(render(kDefaultTitleTemplate, m), "[RESOLVED] (HighLoad api)");
  m.alerts[1].labels.set("service", "web");
  m.group_labels = core::Labels{{"alertname", "HighLoad"}};
  EXPECT_EQ(render(kDefaultTitleTemplate, m), "[RESOLVED] HighLoad");
}

TEST(GroupMessage, DefaultBody) {
  GroupMessage m = two_alert_group();
  m.receiver = "ops hook";
  m.truncated_alerts = 2;
  EXPECT_EQ(render(kDefaultBodyTemplate, m),
            "Alerts Firing:\n"
            "Labels:\n"
            " - alertname = HighLoad\n"
            " - instance = h1\n"
            " - service = api\n"
            "Annotations:\n"
            " - runbook = http://wiki/load\n"
            " - summary = load 0.97 on h1\n"
            "Source: http://prom:9090/graph?g0.expr=load\n"
            "\n"
            "Alerts Resolved:\n"
            "Labels:\n"
            " - alertname = HighLoad\n"
            " - instance = h2\n"
            " - service = api\n"
            "Annotations:\n"
            " - runbook = http://wiki/load\n"
            " - summary = load 0.93 on h2\n"
            "\n"
            "2 more alerts not shown.\n"
            "View in tocsin: http://tocsin.example/#/alerts?receiver=ops+hook");
  EXPECT_EQ(alerts_url(m), "http://tocsin.example/#/alerts?receiver=ops+hook");
}

// The example in docs/notifications.md.
TEST(GroupMessage, DocumentedExample) {
  const GroupMessage m = two_alert_group();
  EXPECT_EQ(render("{{ .CommonLabels.alertname }}: {{ .FiringCount }} firing", m), "HighLoad: 1 firing");
  EXPECT_EQ(
      render(
          "{{ range .Alerts.Firing -}}\n"
          "• {{ .Labels.instance }}: {{ .Annotations.summary }}\n"
          "{{ end -}}\n"
          "{{ if .Alerts.Resolved }}Resolved: {{ range .Alerts.Resolved }}{{ .Labels.instance }} {{ end }}{{ end }}\n",
          m),
      "• h1: load 0.97 on h1\nResolved: h2 \n");
}

}  // namespace
}  // namespace tocsin::notify
