#include "risk/cleaning.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tocsin::risk {
namespace {

CleanOptions opts(bool drop_duplicates = false, bool drop_outliers = false, bool standardize = false) {
  CleanOptions o;
  o.label = "label";
  o.drop_duplicates = drop_duplicates;
  o.drop_outliers = drop_outliers;
  o.standardize = standardize;
  return o;
}

Table read(const std::string& csv) {
  std::istringstream in(csv);
  auto t = read_csv(in, {"data.csv", {{"label", ColumnKind::kCategorical}}});
  EXPECT_TRUE(t) << t.error().to_string();
  return *t;
}

TEST(Cleaning, DropsRowsWithMissingValuesByDefault) {
  auto t = read("a,b,label\n1,x,p\nNA,y,q\n3,,p\n4,y,\n5,y,q\n");
  auto c = clean(t, opts());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->report.rows_in, 5u);
  EXPECT_EQ(c->report.rows_out, 2u);
  EXPECT_EQ(c->report.dropped_missing, 2u);
  EXPECT_EQ(c->report.dropped_missing_label, 1u);
  EXPECT_EQ(c->table.lines, (std::vector<int>{2, 6}));
}

TEST(Cleaning, AnImputingPolicyLearnsAFillEvenWithoutGaps) {
  // No gaps at all: --missing median still learns a fill for every numeric column (so a later row
  // may leave one empty), and the categorical column only under its own mode policy.
  auto t = read("a,b,c,label\n1,x,10,p\n2,y,20,q\n9,y,30,p\n");
  CleanOptions o = opts();
  o.missing = MissingPolicy::kMedian;
  auto c = clean(t, o);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->preprocessing.fill_number, (std::map<std::string, double, std::less<>>{{"a", 2}, {"c", 20}}));
  EXPECT_TRUE(c->preprocessing.fill_text.empty());  // b is categorical: median does not apply
  o.missing_per_column = {{"b", MissingPolicy::kMode}};
  c = clean(t, o);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->preprocessing.fill_text.at("b"), "y");
  // The default (drop) learns nothing.
  c = clean(t, opts());
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->preprocessing.fill_number.empty());
}

TEST(Cleaning, ImputesPerColumnFromTheKeptRows) {
  auto t = read("a,b,label\n1,x,p\nNA,y,q\n3,,p\n8,y,q\n");
  CleanOptions o = opts();
  o.missing_per_column = {{"a", MissingPolicy::kMedian}, {"b", MissingPolicy::kMode}};
  auto c = clean(t, o);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->report.rows_out, 4u);
  EXPECT_DOUBLE_EQ(c->preprocessing.fill_number.at("a"), 3.0);
  EXPECT_EQ(c->preprocessing.fill_text.at("b"), "y");
  EXPECT_DOUBLE_EQ(c->table.columns[0].numbers[1], 3.0);
  EXPECT_EQ(c->table.columns[1].texts[2], "y");
  // Mean of a categorical column makes no sense.
  o.missing_per_column = {{"b", MissingPolicy::kMean}};
  EXPECT_FALSE(clean(t, o));
}

TEST(Cleaning, CountsDuplicatesAndDropsThemOnRequest) {
  auto t = read("a,label\n1,p\n1,p\n1,q\n2,p\n1,p\n");
  auto kept = clean(t, opts());
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->report.duplicates, 2u);
  EXPECT_EQ(kept->report.rows_out, 5u);
  auto dropped = clean(t, opts(true));
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->report.rows_out, 3u);
}

TEST(Cleaning, FlagsOutliersByRobustZ) {
  std::string csv = "a,label\n";
  for (int i = 0; i < 20; ++i) csv += std::to_string(10 + i % 5) + ",p\n";
  csv += "1000,q\n";
  auto t = read(csv);
  auto c = clean(t, opts());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->report.columns[0].outliers, 1u);
  EXPECT_EQ(c->report.columns[0].outlier_lines, (std::vector<int>{22}));
  EXPECT_EQ(c->report.rows_out, 21u);
  auto d = clean(t, opts(false, true));
  EXPECT_EQ(d->report.rows_out, 20u);
  EXPECT_EQ(d->report.dropped_outliers, 1u);
  EXPECT_NE(c->report.to_text().find("1 outliers (|robust z| > 3.5) at lines 22"), std::string::npos) << c->report.to_text();
}

TEST(Cleaning, StandardisesWithPopulationSigmaAndAppliesTheSameLater) {
  auto t = read("a,label\n1,p\n2,q\n3,p\n");
  auto c = clean(t, opts(false, false, true));
  ASSERT_TRUE(c);
  const auto& s = c->preprocessing.standardize.at("a");
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.scale, std::sqrt(2.0 / 3.0));
  EXPECT_DOUBLE_EQ(c->table.columns[0].numbers[2], 1.0 / std::sqrt(2.0 / 3.0));
  auto later = read("a,label\n2,p\nNA,p\n");
  auto st = apply(c->preprocessing, later, {"a"});
  ASSERT_FALSE(st);  // a missing value with no fill learned
  EXPECT_EQ(st.error().to_string(), "data.csv:3: column 'a': missing value (the model imputes no value for this column)");
}

}  // namespace
}  // namespace tocsin::risk
