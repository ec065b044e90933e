#include <gtest/gtest.h>

#include "core/labels.h"

namespace tocsin::core {
namespace {

TEST(Labels, SortedAndOrderIndependent) {
  Labels a{{"service", "api"}, {"alertname", "HighLoad"}, {"instance", "h1"}};
  Labels b{{"instance", "h1"}, {"service", "api"}, {"alertname", "HighLoad"}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.pairs().front().name, "alertname");
  EXPECT_EQ(a.to_string(), R"({alertname="HighLoad", instance="h1", service="api"})");
}

TEST(Labels, FingerprintIsStableAcrossVersions) {
  // Stored in databases and shown to users: they must never change. Computed independently with
  // a ten-line Python FNV-1a over the documented byte sequence.
  EXPECT_EQ(fingerprint_hex(Labels{}.fingerprint()), "cbf29ce484222325");
  EXPECT_EQ(fingerprint_hex(Labels{{"a", "1"}}.fingerprint()), "d3b971819376d835");
  EXPECT_EQ(fingerprint_hex(Labels{{"__name__", "up"}, {"job", "api"}}.fingerprint()), "352aa4b15fa28bb6");
}

TEST(Labels, FingerprintOfPairsInPlaceIsTheLabelsFingerprint) {
  const LabelRef none[] = {{"", ""}};
  EXPECT_EQ(fingerprint_of(std::span<const LabelRef>(none, 0)), Labels{}.fingerprint());
  const LabelRef pairs[] = {{"__name__", "up"}, {"job", "api"}};
  EXPECT_EQ(fingerprint_hex(fingerprint_of(pairs)), "352aa4b15fa28bb6");
  const LabelRef one[] = {{"a", "1"}};
  EXPECT_EQ(fingerprint_of(one), (Labels{{"a", "1"}}.fingerprint()));
}

TEST(Labels, FingerprintSeparatesNamesFromValues) {
  EXPECT_NE((Labels{{"ab", "c"}}.fingerprint()), (Labels{{"a", "bc"}}.fingerprint()));
  EXPECT_NE((Labels{{"a", "1"}, {"b", "2"}}.fingerprint()), (Labels{{"a", "2"}, {"b", "1"}}.fingerprint()));
}

TEST(Labels, EmptyValueMeansAbsent) {
  Labels l{{"a", "1"}, {"b", ""}};
  EXPECT_EQ(l.size(), 1u);
  l.set("a", "");
  EXPECT_TRUE(l.empty());
  auto from = Labels::from_pairs({{"z", "1"}, {"a", "2"}, {"z", "3"}, {"e", ""}});
  EXPECT_EQ(from.to_string(), R"({a="2", z="3"})");
  // Already sorted and unique (the fast path): the same rules.
  auto sorted = Labels::from_pairs({{"a", "2"}, {"e", ""}, {"z", "3"}});
  EXPECT_EQ(sorted.to_string(), R"({a="2", z="3"})");
  EXPECT_EQ(sorted, from);
  EXPECT_EQ(Labels::from_pairs({{"a", "1"}, {"a", "2"}}).to_string(), R"({a="2"})");  // duplicate: not the fast path
}

TEST(Labels, EscapesValues) {
  Labels l{{"msg", "say \"hi\"\\\n"}};
  EXPECT_EQ(l.to_string(), R"({msg="say \"hi\"\\\n"})");
}

TEST(PackedLabels, GivesBackTheSameLabels) {
  const std::string long_value(300, 'x');  // a length that takes two varint bytes
  const Labels labels{{"job", "api"}, {"instance", "host-1"}, {"note", long_value}, {"alertname", "X"}};
  const PackedLabels packed(labels);
  EXPECT_EQ(packed.size(), 4u);
  EXPECT_EQ(packed.unpack(), labels);
  EXPECT_EQ(packed.unpack().fingerprint(), labels.fingerprint());
  std::vector<std::pair<std::string, std::string>> seen;
  packed.for_each([&](std::string_view n, std::string_view v) { seen.emplace_back(n, v); });
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::string>{"alertname", "X"}));
  EXPECT_EQ(seen[2], (std::pair<std::string, std::string>{"job", "api"}));
  EXPECT_EQ(seen[3].second, long_value);
  const PackedLabels copy = packed;
  EXPECT_EQ(copy.unpack(), labels);
  EXPECT_TRUE(packed.equals(labels));
  EXPECT_FALSE(packed.equals(Labels{{"job", "api"}, {"instance", "host-1"}, {"note", long_value}}));
  EXPECT_FALSE(packed.equals(Labels{{"job", "apj"}, {"instance", "host-1"}, {"note", long_value}, {"alertname", "X"}}));
  EXPECT_FALSE(packed.equals(Labels{{"jo", "bapi"}, {"instance", "host-1"}, {"note", long_value}, {"alertname", "X"}}));
  EXPECT_TRUE(PackedLabels().equals(Labels{}));
  EXPECT_FALSE(PackedLabels().equals(labels));
  EXPECT_TRUE(PackedLabels().empty());
  EXPECT_EQ(PackedLabels(Labels{}).unpack(), Labels{});
}

TEST(Labels, ValidatesNames) {
  EXPECT_TRUE(is_valid_label_name("service_1"));
  EXPECT_FALSE(is_valid_label_name("1service"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
  EXPECT_TRUE(is_valid_metric_name("node:load:avg1"));
  EXPECT_FALSE(is_valid_metric_name(""));
}

// Every byte, first and later in a name, against the rule written out: [a-zA-Z_] first, then also
// [0-9]; ':' anywhere in a metric name, nowhere in a label name.
TEST(Labels, ValidatesEveryByteOfANameByTheRule) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool letter = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_';
    const bool digit = b >= '0' && b <= '9';
    const std::string first(1, c);
    const std::string later = std::string("a") + c;
    EXPECT_EQ(is_valid_label_name(first), letter) << b;
    EXPECT_EQ(is_valid_label_name(later), letter || digit) << b;
    EXPECT_EQ(is_valid_metric_name(first), letter || b == ':') << b;
    EXPECT_EQ(is_valid_metric_name(later), letter || digit || b == ':') << b;
    EXPECT_EQ(is_valid_label_name(first + "ok_1"), letter) << b;
  }
}

}  // namespace
}  // namespace tocsin::core

#include "core/utf8.h"

namespace tocsin::core {
namespace {

TEST(Utf8, AcceptsWellFormedAndRejectsTheRest) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("π ≈ 3.14 — 你好 🎉"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xE2\x82"));       // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
  // The same answers wherever the sequence falls among ASCII bytes (the ASCII run is read eight
  // bytes at a time): against the sequence-by-sequence definition.
  auto by_sequence = [](std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      const size_t n = utf8_sequence_length(s, i);
      if (n == 0) return false;
      i += n;
    }
    return true;
  };
  for (const std::string_view piece : {"\xC0\xAF", "\xE2\x82", "\x80", "\xFF", "€", "🎉", "\xF4\x90\x80\x80"}) {
    for (size_t before = 0; before <= 17; ++before) {
      for (size_t after = 0; after <= 9; after += 9) {
        const std::string s = std::string(before, 'x') + std::string(piece) + std::string(after, 'y');
        EXPECT_EQ(is_valid_utf8(s), by_sequence(s)) << before << " " << after;
        EXPECT_EQ(is_valid_utf8(s), piece == "€" || piece == "🎉") << before << " " << after;
      }
    }
  }
  EXPECT_EQ(utf8_sequence_length("a€", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("a€", 1), 3u);
  EXPECT_EQ(utf8_sequence_length("\xFF", 0), 0u);
}

}  // namespace
}  // namespace tocsin::core
