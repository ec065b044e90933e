#include "core/json_text.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace tocsin::core {
namespace {

// What the writer must match: nlohmann's dump of the string, and for kGo that dump with Go's
// extra escapes applied afterwards (as notify's go_json did over a whole body).
std::string reference(const std::string& text, JsonEscape escape) {
  const std::string dumped = nlohmann::json(text).dump();
  if (escape == JsonEscape::kStandard) return dumped;
  std::string out;
  for (size_t i = 0; i < dumped.size(); ++i) {
    const char c = dumped[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' &&
               (dumped[i + 2] == '\xa8' || dumped[i + 2] == '\xa9')) {
      out += dumped[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string written(const std::string& text, JsonEscape escape) {
  std::string out = "x";  // appends: what was there stays
  EXPECT_TRUE(append_json_string(out, text, escape)) << text;
  EXPECT_EQ(out.substr(0, 1), "x");
  return out.substr(1);
}

TEST(JsonText, EveryAsciiCharacterIsWrittenAsNlohmannWritesIt) {
  for (const JsonEscape escape : {JsonEscape::kStandard, JsonEscape::kGo}) {
    for (int c = 0; c < 0x80; ++c) {
      const std::string text = std::string("a") + static_cast<char>(c) + "b";
      EXPECT_EQ(written(text, escape), reference(text, escape)) << "byte " << c;
    }
  }
  EXPECT_EQ(written("", JsonEscape::kStandard), "\"\"");
  EXPECT_EQ(written("<a href=\"x\">&</a>", JsonEscape::kGo), R"("\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e")");
  EXPECT_EQ(written("line\u2028next\u2029", JsonEscape::kGo), R"("line\u2028next\u2029")");
  EXPECT_EQ(written("line\u2028next", JsonEscape::kStandard), "\"line\u2028next\"");
}

TEST(JsonText, MixedTextMatchesNlohmannByteForByte) {
  // Pieces that exercise every branch: plain runs, escapes, control bytes, 2-, 3- and 4-byte
  // characters, U+2028/2029 and characters next to them.
  const std::vector<std::string> pieces = {"plain", " ", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "<", ">",
                                           "&", "é", "€", "\u2027", "\u2028", "\u2029", "\u202a", "😀", "/", "{}"};
  std::mt19937 rng(42);
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
    for (const JsonEscape escape : {JsonEscape::kStandard, JsonEscape::kGo}) {
      ASSERT_EQ(written(text, escape), reference(text, escape)) << text;
    }
  }
}

TEST(JsonText, ObjectsAreWrittenAsNlohmannWritesThem) {
  const std::map<std::string, std::string> pairs = {{"", "empty name"}, {"a\"b", "<&>"}, {"z", ""}, {"é", "\n"}};
  nlohmann::json reference_object = nlohmann::json::object();
  for (const auto& [name, value] : pairs) reference_object[name] = value;
  std::string out = "[";
  ASSERT_TRUE(append_json_object(out, pairs));
  EXPECT_EQ(out, "[" + reference_object.dump());
  out = "[";
  ASSERT_TRUE(append_json_object(out, std::map<std::string, std::string>{}));
  EXPECT_EQ(out, "[{}");
  // Text that is not UTF-8, as a name or a value, leaves nothing behind.
  for (const auto& broken : {std::map<std::string, std::string>{{"a", "b"}, {"c\xff", "d"}},
                             std::map<std::string, std::string>{{"a", "b"}, {"c", "d\xff"}}}) {
    out = "[";
    EXPECT_FALSE(append_json_object(out, broken));
    EXPECT_EQ(out, "[");
  }
}

TEST(JsonText, EscapedTextCanReplaceWhatIsNotUtf8AndEscapeDel) {
  std::string out = "[";
  EXPECT_TRUE(append_json_escaped(out, "a\xff\xc0\xaf" "b\x7f\"", JsonEscape::kStandardAndDel, InvalidUtf8::kReplace));
  EXPECT_EQ(out, "[a\\ufffd\\ufffd\\ufffdb\\u007f\\\"");  // one U+FFFD per bad byte; no quotes around
  out.clear();
  EXPECT_TRUE(append_json_escaped(out, "\x7f", JsonEscape::kStandard, InvalidUtf8::kReplace));
  EXPECT_EQ(out, "\x7f") << "nlohmann writes DEL as it is";
  out = "[";
  EXPECT_FALSE(append_json_escaped(out, "ok\xff", JsonEscape::kStandard, InvalidUtf8::kRefuse));
  EXPECT_EQ(out, "[");
}

TEST(JsonText, TextThatIsNotUtf8IsRefusedAndLeavesTheOutputAsItWas) {
  for (const std::string& text : {std::string("a\xff"), std::string("\xc3"), std::string("\xe2\x80"),
                                 std::string("\xed\xa0\x80"), std::string("\xc0\xaf"), std::string("ok\xf4\x90\x80\x80")}) {
    std::string out = "[";
    EXPECT_FALSE(append_json_string(out, text)) << text;
    EXPECT_EQ(out, "[");
    EXPECT_THROW((void)nlohmann::json(text).dump(), nlohmann::json::exception) << "nlohmann refuses it too";
  }
}

}  // namespace
}  // namespace tocsin::core
