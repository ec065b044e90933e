#include "ingest/push.h"

#include <gtest/gtest.h>

namespace tocsin::ingest {
namespace {

const core::Timestamp kNow = core::from_unix_ms(1'000'000);

TEST(PushJson, ParsesSamples) {
  auto r = parse_push_json(
      R"([{"name":"system_load","labels":{"service":"api","instance":"h1"},"value":0.95,"ts":5000},
          {"name":"up","value":1}])",
      kNow);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].labels, (core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}}));
  EXPECT_DOUBLE_EQ((*r)[0].value, 0.95);
  EXPECT_EQ((*r)[0].ts, core::from_unix_ms(5000));
  EXPECT_EQ((*r)[1].ts, kNow);
}

TEST(PushJson, RejectsBadInputNamingTheField) {
  struct Case {
    const char* body;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {"not json", "", "malformed JSON"},
      {R"({"name":"x","value":1})", "", "expected a JSON array"},
      {R"([1])", "[0]", "expected an object"},
      {R"([{"value":1}])", "[0].name", "missing"},
      {R"([{"name":"x"}])", "[0].value", "missing"},
      {R"([{"name":"x","value":"1"}])", "[0].value", "expected a number"},
      {R"([{"name":"1x","value":1}])", "[0].name", "bad metric name"},
      {R"([{"name":"x","value":1,"labels":{"a":1}}])", "[0].labels.a", "expected a string"},
      {R"([{"name":"x","value":1,"labels":{"a-b":"1"}}])", "[0].labels", "bad label name"},
      {R"([{"name":"x","value":1,"labels":[]}])", "[0].labels", "expected an object"},
      {R"([{"name":"x","value":1,"ts":1.5}])", "[0].ts", "expected an integer"},
      {R"([{"name":"x","value":1},{"name":"x","value":1,"extra":true}])", "[1]", "unknown key \"extra\""},
  };
  for (const auto& c : cases) {
    auto r = parse_push_json(c.body, kNow);
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().field(), c.field) << c.body;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << c.body << " -> " << r.error().message();
  }
}

}  // namespace
}  // namespace tocsin::ingest
