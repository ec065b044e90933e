#include "api/alert_list_scanner.h"

#include <gtest/gtest.h>

#include <string>

namespace tocsin::api {
namespace {

const core::Timestamp kNow = core::parse_rfc3339("2026-12-04T10:00:00Z").value();
const std::optional<core::Duration> kResolveTimeout = std::chrono::minutes(5);

std::optional<std::vector<alerting::Alert>> scan(std::string_view body) {
  return scan_alert_list(body, kNow, kResolveTimeout);
}

TEST(AlertListScannerTest, ReadsPrometheusShapedAlerts) {
  const auto alerts = scan(R"( [ {"labels":{"alertname":"Disk","instance":"h:9100","job":"node","empty":""},
      "annotations":{"summary":"Disk on h","description":"ünïcode ok"},"startsAt":"2026-12-04T09:50:00.123456789Z",
      "endsAt":"2026-12-04T10:04:00Z","generatorURL":"http://prom/graph?g0.expr=x%7B%7D"},
    {"labels":{"b":"2","a":"1"}} ] )");
  ASSERT_TRUE(alerts.has_value());
  ASSERT_EQ(alerts->size(), 2u);
  const auto& a = (*alerts)[0];
  EXPECT_EQ(a.labels.size(), 3u);  // the empty label is no label
  EXPECT_EQ(a.labels.get_or("alertname", ""), "Disk");
  EXPECT_EQ(a.fingerprint, a.labels.fingerprint());
  EXPECT_EQ(a.annotations.at("description"), "ünïcode ok");
  EXPECT_EQ(a.active_at, core::parse_rfc3339("2026-12-04T09:50:00.123Z").value());
  EXPECT_EQ(a.ends_at, core::parse_rfc3339("2026-12-04T10:04:00Z").value());
  EXPECT_FALSE(a.ends_at_from_timeout);
  EXPECT_EQ(a.generator_url, "http://prom/graph?g0.expr=x%7B%7D");
  EXPECT_EQ(a.updated_at, kNow);
  // No times: starts now, ends after resolve_timeout, marked as such.
  const auto& b = (*alerts)[1];
  EXPECT_EQ(b.labels.begin()->name, "a");  // sorted
  EXPECT_EQ(b.active_at, kNow);
  EXPECT_EQ(b.ends_at, kNow + std::chrono::minutes(5));
  EXPECT_TRUE(b.ends_at_from_timeout);
  EXPECT_TRUE(b.annotations.empty());

  auto empty = scan(" [ ] ");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

// The views the fast path compares with held alerts: what scan_alert_list builds, in place.
TEST(AlertListScannerTest, ViewsAreTheAlertsInPlaceAndTheBuffersAreReused) {
  const std::string body = R"([{"labels":{"job":"node","alertname":"Disk","empty":"","instance":"h"},
      "annotations":{"summary":"s","description":"","a":"1"},"startsAt":"2026-12-04T09:50:00Z",
      "endsAt":"2026-12-04T10:04:00Z","generatorURL":"http://g"},
    {"labels":{"alertname":"Disk","instance":"i"},"startsAt":"2026-12-04T09:51:00Z","endsAt":"2026-12-04T10:04:00Z"}])";
  ScannedAlerts scanned;
  ASSERT_TRUE(scan_alert_views(body, kNow, kResolveTimeout, scanned));
  const auto built = scan(body);
  ASSERT_TRUE(built.has_value());
  ASSERT_EQ(scanned.alerts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const alerting::AlertView& v = scanned.alerts[i];
    const alerting::Alert& a = (*built)[i];
    EXPECT_EQ(v.fingerprint, a.labels.fingerprint());
    EXPECT_TRUE(alerting::same_content(a, v));
    const alerting::Alert again = alerting::to_alert(v);
    EXPECT_EQ(again.labels, a.labels);
    EXPECT_EQ(again.annotations, a.annotations);
    EXPECT_EQ(again.active_at, a.active_at);
    EXPECT_EQ(again.ends_at, a.ends_at);
  }
  const alerting::AlertView& v = scanned.alerts[0];
  ASSERT_EQ(v.labels.size(), 3u);  // sorted, the empty one dropped
  EXPECT_EQ(v.labels[0].name, "alertname");
  EXPECT_EQ(v.labels[2].name, "job");
  ASSERT_EQ(v.annotations.size(), 3u);  // sorted; an empty annotation is kept
  EXPECT_EQ(v.annotations[0].name, "a");
  EXPECT_EQ(v.annotations[1].name, "description");
  EXPECT_EQ(v.generator_url, "http://g");
  EXPECT_EQ(scanned.alerts[1].times.ends_at, v.times.ends_at);
  EXPECT_NE(scanned.alerts[1].times.active_at, v.times.active_at);

  // Not the same content: one annotation differs.
  alerting::Alert changed = (*built)[0];
  changed.annotations["summary"] = "t";
  EXPECT_FALSE(alerting::same_content(changed, v));
  changed = (*built)[0];
  changed.generator_url = "http://h";
  EXPECT_FALSE(alerting::same_content(changed, v));

  // The same buffers for the next body.
  ASSERT_TRUE(scan_alert_views(R"([{"labels":{"b":"2","a":"1"}}])", kNow, kResolveTimeout, scanned));
  ASSERT_EQ(scanned.alerts.size(), 1u);
  ASSERT_EQ(scanned.alerts[0].labels.size(), 2u);
  EXPECT_EQ(scanned.alerts[0].labels[0].name, "a");
  EXPECT_TRUE(scanned.alerts[0].annotations.empty());
  EXPECT_EQ(scanned.alerts[0].fingerprint, (core::Labels{{"a", "1"}, {"b", "2"}}.fingerprint()));
  EXPECT_TRUE(scanned.alerts[0].times.ends_at_from_timeout);
  EXPECT_FALSE(scan_alert_views(R"([{"labels":{"a":"1"}},{"labels":{}}])", kNow, kResolveTimeout, scanned));
}

TEST(AlertListScannerTest, GoZeroTimesAndNullsAreNoValue) {
  const auto alerts = scan(R"([{"labels":{"a":"1"},"annotations":null,"startsAt":"0001-01-01T00:00:00Z",
      "endsAt":"2026-12-04T09:00:00Z","generatorURL":null}])");
  ASSERT_TRUE(alerts.has_value());
  // No start but an end: it started when it ended (a resolved alert).
  EXPECT_EQ((*alerts)[0].active_at, core::parse_rfc3339("2026-12-04T09:00:00Z").value());
  EXPECT_EQ((*alerts)[0].generator_url, "");
}

TEST(AlertListScannerTest, LeavesEverythingElseToTheGeneralReader) {
  for (const char* body : {
           "",                                                        // not JSON
           "{}",                                                      // not an array
           R"([{"labels":{"a":"1"}}] x)",                             // trailing text
           R"([{"labels":{"a":"1"}},])",                              // trailing comma
           R"([{"labels":{"a":"1\n"}}])",                             // an escape
           R"([{"labels":{"a":1}}])",                                 // a number
           R"([{"labels":{"1a":"x"}}])",                              // a bad label name
           R"([{"labels":{"a":"1","a":"2"}}])",                       // a duplicate label
           R"([{"labels":{"a":"1","a":""}}])",                        // a duplicate whose last value is empty (fuzz)
           R"([{"labels":{"a":"1"},"annotations":{"s":"1","s":"2"}}])",  // a duplicate annotation
           R"([{"labels":{"a":"1"},"labels":{"b":"1"}}])",            // a duplicate member
           R"([{"labels":{}}])",                                      // no labels
           R"([{"labels":{"a":""}}])",                                // only empty labels
           R"([{"annotations":{"s":"1"}}])",                          // no labels at all
           R"([{"labels":{"a":"1"},"status":"firing"}])",             // an unknown member
           R"([{"labels":{"a":"1"},"startsAt":"yesterday"}])",        // a bad time
           R"([{"labels":{"a":"1"},"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T09:00:00Z"}])",  // ends first
           "[{\"labels\":{\"a\":\"\xff\"}}]",                         // bad UTF-8
           R"([{"labels":{"a":"1"})",                                 // truncated
           R"([null])",
       }) {
    EXPECT_FALSE(scan(body).has_value()) << body;
  }
}

}  // namespace
}  // namespace tocsin::api
