#include "core/regex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

namespace tocsin::core {
namespace {

using ::testing::HasSubstr;

Regex re(std::string_view pattern) {
  auto r = Regex::compile(pattern);
  EXPECT_TRUE(r.has_value()) << pattern << ": " << r.error().message();
  return r.has_value() ? *r : *Regex::compile("");
}

TEST(Regex, GoSyntaxAsPrometheusWritesIt) {
  EXPECT_TRUE(re("(?i)CRIT.*").full_match("critical"));
  EXPECT_TRUE(re(R"(\d+)").full_match("123"));
  EXPECT_TRUE(re(R"(api|web-\d)").full_match("web-7"));
  EXPECT_FALSE(re("api").full_match("api-1")) << "full_match is anchored at both ends";
  EXPECT_TRUE(re("api").search("my-api-1"));
  EXPECT_FALSE(re("a.c").full_match("a\nc")) << ". does not match a newline, as in Go";
  EXPECT_TRUE(re("(?s)a.c").full_match("a\nc"));
}

TEST(Regex, BadPatternsNameThePatternAndTheReason) {
  for (std::string_view bad : {"(", "a**", "a+*", "[z-a]", R"(\8)", "(?<=x)y", "x{2,1}"}) {
    auto r = Regex::compile(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(fmt::format("bad regex \"{}\": ", bad)));
  }
  EXPECT_EQ(Regex::compile("a**").error().message(), "bad regex \"a**\": bad repetition operator: **");
}

// The patterns that make a backtracking matcher take exponential time, or recurse once per
// character of the text, finish here: RE2 matches in time linear in the text. (ctest's timeout
// is what fails this test if that ever stops being true; no wall-clock assertion.)
TEST(Regex, NoCatastrophicBacktrackingAndNoRecursionPerCharacter) {
  const std::string as(100'000, 'a');
  EXPECT_FALSE(re("(a+)+b").full_match(as));
  EXPECT_FALSE(re("(a|aa)*c").full_match(as));
  EXPECT_FALSE(re("(a*)*b").search(as));
  EXPECT_TRUE(re("(a|b)*").full_match(as)) << "std::regex overflowed the stack on 16 KiB of this";
}

// Go's ReplaceAllString, case by case (the results are Go's).
TEST(Regex, ReplaceAllExpandsLikeGo) {
  const Regex axb = re("a(x*)b");
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "T"), "-T-T-");
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "$1"), "--xx-");
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "$1W"), "---") << "$1W names group \"1W\", which does not exist";
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "${1}W"), "-W-xxW-");
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "$$1"), "-$1-$1-");
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "$2"), "---") << "a group that does not exist is empty";
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "${1"), "-${1-${1-") << "malformed: the $ is literal";
  EXPECT_EQ(axb.replace_all("-ab-axxb-", "$"), "-$-$-");
  EXPECT_EQ(re("a(?P<x>x*)b").replace_all("-ab-axxb-", "[${x}]"), "-[]-[xx]-");
  EXPECT_EQ(re("a(?P<x>x*)b").replace_all("-axb-", "$x_"), "--") << "the name takes the underscore";
  EXPECT_EQ(re("(a)|(b)").replace_all("ab", "[$1$2]"), "[a][b]") << "a group that did not take part is empty";
}

TEST(Regex, ReplaceAllEmptyMatchesLikeGo) {
  EXPECT_EQ(re("x*").replace_all("abc", "-"), "-a-b-c-");
  EXPECT_EQ(re("a*").replace_all("baaac", "X"), "XbXcX") << "no empty match right after a match";
  EXPECT_EQ(re("").replace_all("", "E"), "E");
  EXPECT_EQ(re("").replace_all("é", "|"), "|é|") << "steps over a whole UTF-8 character";
  EXPECT_EQ(re("b").replace_all("", "X"), "");
}

TEST(Regex, CopiesShareTheProgramAndKeepThePattern) {
  const Regex a = re("h[0-9]");
  const Regex b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
  EXPECT_EQ(b.pattern(), "h[0-9]");
  EXPECT_TRUE(b.full_match("h1"));
}

}  // namespace
}  // namespace tocsin::core
