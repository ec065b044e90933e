#include <gtest/gtest.h>

#include "http/http.h"

namespace tocsin::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndKeepsPlus) {
  EXPECT_EQ(percent_decode("/a%20b/c+d"), "/a b/c+d");
  EXPECT_EQ(percent_decode("%41%62%2f"), "Ab/");
  EXPECT_EQ(percent_decode("%e2%82%AC"), "\xe2\x82\xac");
}

TEST(PercentDecode, KeepsMalformedEscapes) {
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
  EXPECT_EQ(percent_decode(""), "");
}

TEST(ParseQuery, DecodesPlusAndEscapes) {
  auto q = parse_query("name=a+b%2Bc&x%20y=%26");
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q["name"], "a b+c");
  EXPECT_EQ(q["x y"], "&");
}

TEST(ParseQuery, LastWinsAndEdgeCases) {
  auto q = parse_query("a=1&&a=2&flag&=v&e=");
  EXPECT_EQ(q["a"], "2");
  EXPECT_EQ(q["flag"], "");
  EXPECT_EQ(q[""], "v");
  EXPECT_EQ(q["e"], "");
  EXPECT_TRUE(parse_query("").empty());
}

TEST(JsonEscape, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("\n\t\r\b\f"), "\\n\\t\\r\\b\\f");
  EXPECT_EQ(json_escape(std::string_view("\x01\x00", 2)), "\\u0001\\u0000");
}

TEST(JsonEscape, KeepsValidUtf8AndReplacesInvalid) {
  EXPECT_EQ(json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5");
  EXPECT_EQ(json_escape("a\xff"
                        "b"),
            "a\\ufffdb");
  EXPECT_EQ(json_escape("\xc3"), "\\ufffd");                        // truncated
  EXPECT_EQ(json_escape("\xc0\xaf"), "\\ufffd\\ufffd");             // overlong
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // surrogate
}

TEST(Response, ErrorBody) {
  auto r = Response::error(400, "bad \"value\"", "rules[0].for");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"bad \"value\"","field":"rules[0].for"})");
  EXPECT_EQ(Response::error(404, "not found").body, R"({"error":"not found"})");
}

TEST(Response, TextAndJson) {
  auto t = Response::text(201, "hi");
  EXPECT_EQ(t.status, 201);
  EXPECT_EQ(t.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(Response::json(200, "{}").content_type, "application/json");
}

TEST(Request, HeaderLookup) {
  Request r;
  r.headers["x-a"] = "1";
  EXPECT_EQ(r.header("x-a"), "1");
  EXPECT_EQ(r.header("x-b"), "");
}

}  // namespace
}  // namespace tocsin::http
