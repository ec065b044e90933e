#include "risk/table.h"

#include <gtest/gtest.h>

#include <sstream>

#include "risk/split.h"

namespace tocsin::risk {
namespace {

core::Result<Table> read(const std::string& csv, ReadOptions options = {}) {
  std::istringstream in(csv);
  options.source = "data.csv";
  return read_csv(in, options);
}

TEST(Table, InfersKindsAndReadsMissingValuesAndQuotes) {
  auto t = read("bytes,host,label\n10,\"a, b\",yes\n\nNA,c,no\n2.5e1,,yes\r\n");
  ASSERT_TRUE(t) << t.error().to_string();
  ASSERT_EQ(t->rows(), 3u);
  EXPECT_EQ(t->lines, (std::vector<int>{2, 4, 5}));
  EXPECT_EQ(t->columns[0].kind, ColumnKind::kNumeric);
  EXPECT_TRUE(t->columns[0].missing(1));
  EXPECT_DOUBLE_EQ(t->columns[0].numbers[2], 25.0);
  EXPECT_EQ(t->columns[1].kind, ColumnKind::kCategorical);
  EXPECT_EQ(t->columns[1].texts[0], "a, b");
  EXPECT_TRUE(t->columns[1].missing(2));
}

TEST(Table, ForcedKindReadsNumbersAsCategories) {
  auto t = read("code,label\n1,a\n2,b\n", {"", {{"code", ColumnKind::kCategorical}}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->columns[0].kind, ColumnKind::kCategorical);
  EXPECT_EQ(t->columns[0].texts[1], "2");
}

TEST(Table, RaggedRowNamesFileAndLine) {
  auto t = read("a,b,label\n1,2,x\n3,4\n");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().to_string(), "data.csv:3: 2 fields, but the header has 3 columns");
}

TEST(Table, NonNumericValueInNumericColumnNamesLineAndColumn) {
  auto t = read("a,b,label\n1,2,x\n3,oops,y\n");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().to_string(), "data.csv:3: column 'b': 'oops' is not a number (the column is numeric)");
}

TEST(Table, UnknownColumnListsTheColumns) {
  auto t = read("a,b\n1,2\n");
  ASSERT_TRUE(t);
  auto c = t->require("severity");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().to_string(), "data.csv:1: no column 'severity' (columns: a, b)");
}

TEST(Table, HeaderProblems) {
  EXPECT_FALSE(read(""));
  EXPECT_FALSE(read("a,a\n1,2\n"));
  EXPECT_FALSE(read("a,\"b\n1,2\n"));
}

// csv_field left " a" unquoted, and the reader trims blanks around unquoted fields, so it came
// back as "a" (found by fuzz/csv_fuzz.cc).
TEST(Table, CsvFieldKeepsBlanksAtTheEdges) {
  EXPECT_EQ(csv_field(" a"), "\" a\"");
  EXPECT_EQ(csv_field("a\t"), "\"a\t\"");
  EXPECT_EQ(csv_field("a b"), "a b");
  const std::vector<std::string> fields = {" lead", "trail ", "\tboth\t", "plain", "", "say \"hi\", ok"};
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  auto again = split_csv_line(line);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(*again, fields);
}

TEST(Split, StratifiedSplitKeepsProportionsAndIsReproducible) {
  std::vector<int> y;
  for (int i = 0; i < 100; ++i) y.push_back(i < 80 ? 0 : 1);
  auto s = stratified_split(y, 0.25, 7);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->test.size(), 25u);
  EXPECT_EQ(s->train.size(), 75u);
  size_t ones = 0;
  for (size_t r : s->test) ones += y[r];
  EXPECT_EQ(ones, 5u);
  EXPECT_EQ(stratified_split(y, 0.25, 7)->test, s->test);
  EXPECT_NE(stratified_split(y, 0.25, 8)->test, s->test);
  EXPECT_FALSE(stratified_split(y, 1.0, 7));
}

TEST(Split, KFoldCoversEveryRowOnceAsTest) {
  std::vector<int> y;
  for (int i = 0; i < 53; ++i) y.push_back(i % 3);
  auto folds = stratified_k_fold(y, 5, 1);
  ASSERT_TRUE(folds);
  std::vector<int> seen(y.size(), 0);
  for (const auto& f : *folds) {
    EXPECT_EQ(f.train.size() + f.test.size(), y.size());
    EXPECT_GE(f.test.size(), 10u);
    for (size_t r : f.test) ++seen[r];
  }
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_FALSE(stratified_k_fold(y, 1, 1));
}

}  // namespace
}  // namespace tocsin::risk
