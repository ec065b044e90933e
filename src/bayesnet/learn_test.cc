#include "bayesnet/learn.h"

#include <gtest/gtest.h>

#include <sstream>

#include "bayesnet/yaml_format.h"

namespace tocsin::bayesnet {
namespace {

Network structure() {
  auto net = parse_network_yaml(R"(nodes:
  - {name: attack, states: [yes, no]}
  - {name: strength, states: [low, medium, high], parents: [attack]}
)",
                                {.file = "s.yaml", .require_cpts = false});
  EXPECT_TRUE(net) << net.error().to_string();
  return std::move(*net);
}

TEST(BayesLearn, LaplaceSmoothedCounts) {
  // attack: 3 yes, 5 no. strength | yes: high 2, medium 1; strength | no: low 4, medium 1.
  std::istringstream csv(
      "strength,attack,ignored\n"
      "high,yes,1\nhigh,yes,2\nmedium,yes,3\n"
      "low,no,4\nlow,no,5\nlow,no,6\nlow,no,7\nmedium,no,8\n\n");
  auto learned = learn_cpts(structure(), csv, {.alpha = 1.0, .data_name = "d.csv"});
  ASSERT_TRUE(learned) << learned.error().to_string();
  EXPECT_EQ(learned->counts.rows, 8u);
  const Network& net = learned->network;
  ASSERT_TRUE(net.complete());
  // (3+1)/(8+2), (5+1)/(8+2)
  EXPECT_DOUBLE_EQ(net.probability(0, 0, 0), 0.4);
  EXPECT_DOUBLE_EQ(net.probability(0, 0, 1), 0.6);
  // strength | yes: low (0+1)/6, medium (1+1)/6, high (2+1)/6
  EXPECT_DOUBLE_EQ(net.probability(1, 0, 0), 1.0 / 6);
  EXPECT_DOUBLE_EQ(net.probability(1, 0, 1), 2.0 / 6);
  EXPECT_DOUBLE_EQ(net.probability(1, 0, 2), 3.0 / 6);
  // strength | no: low (4+1)/8, medium (1+1)/8, high 1/8
  EXPECT_DOUBLE_EQ(net.probability(1, 1, 0), 5.0 / 8);
  EXPECT_DOUBLE_EQ(net.probability(1, 1, 1), 2.0 / 8);
  EXPECT_DOUBLE_EQ(net.probability(1, 1, 2), 1.0 / 8);
  EXPECT_EQ(learned->counts.counts[1], (std::vector<double>{0, 1, 2, 4, 1, 0}));
  // Written out, it reads back as the same network.
  auto again = parse_network_yaml(to_yaml(net), {.file = "out.yaml"});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->node(1).cpt, net.node(1).cpt);
}

TEST(BayesLearn, UnseenCombinationWithoutSmoothingIsUniform) {
  std::istringstream csv("attack,strength\nno,low\n");
  auto learned = learn_cpts(structure(), csv, {.alpha = 0.0, .data_name = "d.csv"});
  ASSERT_TRUE(learned);
  EXPECT_DOUBLE_EQ(learned->network.probability(1, 0, 0), 1.0 / 3);  // attack=yes never seen
  EXPECT_DOUBLE_EQ(learned->network.probability(1, 1, 0), 1.0);
}

TEST(BayesLearn, MissingValuesCountOnlyWhereTheFamilyIsObserved) {
  // Rows 2-9 as in LaplaceSmoothedCounts, plus rows with gaps:
  //   line 10: attack missing (empty)    -> neither CPT counts it
  //   line 11: strength missing (?)      -> attack's CPT counts it (yes), strength's does not
  //   line 12: strength missing (NA)     -> attack's CPT counts it (no)
  //   line 13: both missing (empty, "")  -> nothing
  std::istringstream csv(
      "strength,attack\n"
      "high,yes\nhigh,yes\nmedium,yes\n"
      "low,no\nlow,no\nlow,no\nlow,no\nmedium,no\n"
      ",\n"  // blank fields, not a blank line
      "?,yes\n"
      "NA,no\n"
      "low,\n");
  auto learned = learn_cpts(structure(), csv, {.alpha = 1.0, .data_name = "d.csv"});
  ASSERT_TRUE(learned) << learned.error().to_string();
  EXPECT_EQ(learned->counts.rows, 12u);
  EXPECT_EQ(learned->counts.rows_with_missing, 4u);
  EXPECT_EQ(learned->counts.rows_used, (std::vector<size_t>{10, 8}));
  const Network& net = learned->network;
  // attack: 4 yes, 6 no over 10 rows → (4+1)/12, (6+1)/12
  EXPECT_DOUBLE_EQ(net.probability(0, 0, 0), 5.0 / 12);
  EXPECT_DOUBLE_EQ(net.probability(0, 0, 1), 7.0 / 12);
  // strength | attack: unchanged from the complete rows.
  EXPECT_EQ(learned->counts.counts[1], (std::vector<double>{0, 1, 2, 4, 1, 0}));
  EXPECT_DOUBLE_EQ(net.probability(1, 0, 2), 3.0 / 6);
  EXPECT_DOUBLE_EQ(net.probability(1, 1, 0), 5.0 / 8);
}

TEST(BayesLearn, AMissingMarkerThatIsAStateIsTheState) {
  auto net = parse_network_yaml("nodes:\n  - {name: reading, states: [ok, NA]}\n",
                                {.file = "s.yaml", .require_cpts = false});
  ASSERT_TRUE(net) << net.error().to_string();
  std::istringstream csv("reading\nNA\nNA\nok\n?\n");
  auto learned = learn_cpts(*net, csv, {.alpha = 0.0, .data_name = "d.csv"});
  ASSERT_TRUE(learned) << learned.error().to_string();
  EXPECT_EQ(learned->counts.rows_used, (std::vector<size_t>{3}));
  EXPECT_DOUBLE_EQ(learned->network.probability(0, 0, 1), 2.0 / 3);
}

TEST(BayesLearn, BadDataNamesLineAndColumn) {
  std::istringstream unknown("attack,strength\nyes,low\nyes,extreme\n");
  EXPECT_EQ(learn_cpts(structure(), unknown, {.data_name = "d.csv"}).error().to_string(),
            "d.csv:3: column \"strength\": \"extreme\" is not a state of node \"strength\"; its states are: low, "
            "medium, high");
  // A bad state after rows with missing values is still reported with its line and column.
  std::istringstream after_gaps("attack,strength\n,low\nyes,?\nno,severe\n");
  EXPECT_EQ(learn_cpts(structure(), after_gaps, {.data_name = "d.csv"}).error().to_string(),
            "d.csv:4: column \"strength\": \"severe\" is not a state of node \"strength\"; its states are: low, "
            "medium, high");
  std::istringstream missing("attack,other\nyes,low\n");
  EXPECT_EQ(learn_cpts(structure(), missing, {.data_name = "d.csv"}).error().to_string(),
            "d.csv:1: no column \"strength\" for node \"strength\"; the columns are: attack, other");
  std::istringstream short_row("attack,strength\nyes\n");
  EXPECT_EQ(learn_cpts(structure(), short_row, {.data_name = "d.csv"}).error().to_string(),
            "d.csv:2: 1 fields, expected 2 (as in the header)");
}

}  // namespace
}  // namespace tocsin::bayesnet
