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
