#include <gtest/gtest.h>

#include "core/matcher.h"

namespace tocsin::core {
namespace {

TEST(Matcher, ParsesAlertmanagerSyntax) {
  auto eq = Matcher::parse(R"(severity="critical")").value();
  EXPECT_EQ(eq.op(), MatchOp::kEqual);
  EXPECT_TRUE(eq.matches(Labels{{"severity", "critical"}}));
  EXPECT_FALSE(eq.matches(Labels{{"severity", "warning"}}));

  auto re = Matcher::parse(R"(service=~"api|web")").value();
  EXPECT_TRUE(re.matches("api"));
  EXPECT_FALSE(re.matches("api2"));  // anchored

  auto nre = Matcher::parse(R"(env!~"dev.*")").value();
  EXPECT_FALSE(nre.matches("dev1"));
  EXPECT_TRUE(nre.matches("prod"));

  auto ne = Matcher::parse("team != ops").value();  // unquoted, like amtool
  EXPECT_EQ(ne.value(), "ops");
  EXPECT_TRUE(ne.matches(Labels{}));  // a missing label is ""
  EXPECT_EQ(ne.to_string(), R"(team!="ops")");
}

TEST(Matcher, RejectsBadInput) {
  for (const char* bad : {"", "=x", "severity", "severity~x", R"(a=~"(")", R"(a="x" junk)", R"(a="unterminated)"}) {
    auto m = Matcher::parse(bad);
    EXPECT_FALSE(m.has_value()) << bad;
  }
}

// Nested repetition made std::regex backtrack exponentially: r!~"~+*++++++++++c0e" against ""
// ran for minutes (found by fuzz/selector_fuzz.cc). RE2 refuses it, as Prometheus does.
TEST(Matcher, RefusesNestedRepetitionLikeRe2) {
  for (std::string_view re : {"a**", "a+*", "~+*++++++++++c0e", "(x+)*+", "a{2}{3}", "a+?*", "a???"}) {
    auto m = Matcher::create("r", MatchOp::kNotRegex, std::string(re));
    ASSERT_FALSE(m.has_value()) << re;
    EXPECT_NE(m.error().message().find("bad repetition operator"), std::string::npos) << m.error().message();
  }
  EXPECT_EQ(Matcher::parse("r!~\"a+*\"").error().message(),
            "bad matcher \"r!~\"a+*\"\": bad regex \"a+*\": bad repetition operator: +*");
  for (std::string_view re : {"a+?", ".*?x", "x??", "a{2}?", "(x+)*", "[*+]+", "\\++", "(?:a|b)+", "[]*]*", "5.."}) {
    auto m = Matcher::create("r", MatchOp::kRegex, std::string(re));
    EXPECT_TRUE(m.has_value()) << re << ": " << m.error().message();
  }
}

TEST(Selector, ParsesInstantVectorSelectors) {
  auto s = parse_selector(R"(system_load{service="api", instance=~"h[0-9]+"})").value();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].name(), "__name__");
  EXPECT_EQ(s[0].value(), "system_load");
  Labels series{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h12"}};
  EXPECT_TRUE(matches_all(s, series));
  series.set("service", "web");
  EXPECT_FALSE(matches_all(s, series));

  EXPECT_EQ(parse_selector("http_latency_ms").value().size(), 1u);
  EXPECT_EQ(parse_selector(R"({__name__=~"http_.*"})").value().size(), 1u);
  EXPECT_EQ(parse_selector("up{}").value().size(), 1u);
}

TEST(Selector, RejectsBadSelectors) {
  for (const char* bad : {"", "{}", R"({a=~".*"})", "up{", R"(up{a="b")", R"(up{a="b",,})", "up junk", R"(up{1a="b"})"}) {
    auto s = parse_selector(bad);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_NE(s.error().message().find("bad selector"), std::string::npos);
  }
}

}  // namespace
}  // namespace tocsin::core
