#include "ingest/events.h"

#include <gtest/gtest.h>

#include <string>

namespace tocsin::ingest {
namespace {

const core::Timestamp kNow = core::from_unix_ms(1'000'000'000);

core::Status accept_all(const std::vector<core::Sample>&) { return {}; }

std::vector<Event> parse(std::string_view body) {
  auto r = parse_events_json(body, kNow);
  EXPECT_TRUE(r.has_value()) << body << " -> " << r.error().to_string();
  return r ? *r : std::vector<Event>{};
}

TEST(Events, ParsesEvents) {
  auto events = parse(R"([{"type":"user_feedback","kind":"checkout_failed","labels":{"service":"shop"},"count":3,"ts":5000},
                         {"type":"security","kind":"login_failed"}])");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::kUserFeedback);
  EXPECT_EQ(events[0].kind, "checkout_failed");
  EXPECT_EQ(events[0].labels, (core::Labels{{"service", "shop"}}));
  EXPECT_EQ(events[0].count, 3u);
  EXPECT_EQ(events[0].ts, core::from_unix_ms(5000));
  EXPECT_EQ(events[1].type, EventType::kSecurity);
  EXPECT_EQ(events[1].count, 1u);
  EXPECT_EQ(events[1].ts, kNow);
  EXPECT_TRUE(parse("[]").empty());
}

TEST(Events, RejectsBadInputNamingTheField) {
  struct Case {
    const char* body;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {"nope", "", "malformed JSON"},
      {R"({"type":"security","kind":"x"})", "", "expected a JSON array of events"},
      {R"([1])", "[0]", "expected an object"},
      {R"([{"kind":"x"}])", "[0].type", "missing"},
      {R"([{"type":"security"}])", "[0].kind", "missing"},
      {R"([{"type":"alert","kind":"x"}])", "[0].type", "unknown event type \"alert\""},
      {R"([{"type":1,"kind":"x"}])", "[0].type", "expected \"user_feedback\" or \"security\""},
      {R"([{"type":"security","kind":""}])", "[0].kind", "expected a non-empty string"},
      {R"([{"type":"security","kind":7}])", "[0].kind", "expected a non-empty string"},
      {R"([{"type":"security","kind":"x","count":0}])", "[0].count", "expected an integer from 1 to 1000000"},
      {R"([{"type":"security","kind":"x","count":-2}])", "[0].count", "expected an integer"},
      {R"([{"type":"security","kind":"x","count":1.5}])", "[0].count", "expected an integer"},
      {R"([{"type":"security","kind":"x","count":1000001}])", "[0].count", "expected an integer"},
      {R"([{"type":"security","kind":"x","count":18446744073709551615}])", "[0].count", "expected an integer"},
      {R"([{"type":"security","kind":"x","ts":"now"}])", "[0].ts", "expected an integer"},
      {R"([{"type":"security","kind":"x","labels":[]}])", "[0].labels", "expected an object"},
      {R"([{"type":"security","kind":"x","labels":{"a":1}}])", "[0].labels.a", "expected a string"},
      {R"([{"type":"security","kind":"x","labels":{"a-b":"1"}}])", "[0].labels", "bad label name"},
      {R"([{"type":"security","kind":"x","labels":{"kind":"y"}}])", "[0].labels", "reserved"},
      {R"([{"type":"security","kind":"x","labels":{"__name__":"y"}}])", "[0].labels", "reserved"},
      {R"([{"type":"security","kind":"x"},{"type":"security","kind":"x","message":"hi"}])", "[1]",
       "unknown key \"message\""},
  };
  for (const auto& c : cases) {
    auto r = parse_events_json(c.body, kNow);
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().field(), c.field) << c.body;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << c.body << " -> " << r.error().message();
  }
}

TEST(Events, CountsPerSeriesWithATrailingWindow) {
  EventCounters counters;  // 5 min window in 10 s buckets
  auto ts = [](int64_t s) { return core::from_unix_ms(1'000'000'000 + s * 1000); };
  auto at = [&](int64_t s, uint64_t count, std::string kind = "slow") {
    Event e;
    e.kind = std::move(kind);
    e.labels = core::Labels{{"service", "shop"}};
    e.count = count;
    e.ts = ts(s);
    return e;
  };
  auto r = counters.record({at(0, 1), at(0, 2), at(20, 1)}, accept_all);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  // Events at the same time coalesce: one pair at t=0 (3 reports) and one at t=20 (4).
  ASSERT_EQ(r->size(), 4u);
  const core::Labels window{{"__name__", "user_feedback_reports"}, {"kind", "slow"}, {"service", "shop"}};
  const core::Labels total{{"__name__", "user_feedback_reports_total"}, {"kind", "slow"}, {"service", "shop"}};
  EXPECT_EQ((*r)[0].labels, window);
  EXPECT_EQ((*r)[1].labels, total);
  EXPECT_EQ((*r)[0].value, 3);
  EXPECT_EQ((*r)[1].value, 3);
  EXPECT_EQ((*r)[0].ts, ts(0));
  EXPECT_EQ((*r)[2].value, 4);
  EXPECT_EQ((*r)[3].value, 4);
  EXPECT_EQ((*r)[2].ts, ts(20));

  // Ten minutes later the window holds only the new report; the total keeps counting.
  r = counters.record({at(620, 1)}, accept_all);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0].value, 1);
  EXPECT_EQ((*r)[1].value, 5);

  // A late event inside the window counts there and is reported at the series' latest time.
  r = counters.record({at(600, 2)}, accept_all);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0].value, 3);
  EXPECT_EQ((*r)[0].ts, ts(620));
  // One older than the window counts in the total only.
  r = counters.record({at(100, 1)}, accept_all);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0].value, 3);
  EXPECT_EQ((*r)[1].value, 8);

  // A surge: 50 reports within a minute show as a jump of the window gauge.
  std::vector<Event> surge;
  for (int i = 0; i < 50; ++i) surge.push_back(at(700 + i, 1));
  r = counters.record(surge, accept_all);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->back().value, 58);
  EXPECT_EQ((*r)[r->size() - 2].value, 53);  // window: 3 at 600..620 plus 50

  // Another kind or type is another series; security events are named security_events*.
  Event sec = at(700, 1, "login_failed");
  sec.type = EventType::kSecurity;
  r = counters.record({sec}, accept_all);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0].labels.get_or("__name__", ""), "security_events");
  EXPECT_EQ((*r)[1].labels.get_or("__name__", ""), "security_events_total");
  EXPECT_EQ((*r)[1].value, 1);
  EXPECT_EQ(counters.series_count(), 2u);
}

TEST(Events, AFailedSinkChangesNothing) {
  EventCounters counters;
  Event e;
  e.kind = "x";
  e.ts = kNow;
  auto failing = [](const std::vector<core::Sample>&) -> core::Status {
    return std::unexpected(core::Error::unavailable("store down"));
  };
  auto r = counters.record({e}, failing);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "store down");
  EXPECT_EQ(counters.series_count(), 0u);
  r = counters.record({e}, accept_all);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[1].value, 1);  // the failed attempt was not counted
}

TEST(Events, BoundsTheNumberOfSeries) {
  EventCounters counters({.window = std::chrono::minutes(5), .max_series = 2});
  auto ev = [](std::string kind) {
    Event e;
    e.kind = std::move(kind);
    e.ts = kNow;
    return e;
  };
  ASSERT_TRUE(counters.record({ev("a"), ev("b")}, accept_all).has_value());
  auto r = counters.record({ev("a"), ev("c")}, accept_all);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("too many distinct event series"), std::string::npos);
  EXPECT_TRUE(counters.record({ev("a"), ev("b")}, accept_all).has_value());
}

}  // namespace
}  // namespace tocsin::ingest
