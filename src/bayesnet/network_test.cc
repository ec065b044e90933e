#include "bayesnet/network.h"

#include <gtest/gtest.h>

#include "bayesnet/yaml_format.h"

namespace tocsin::bayesnet {
namespace {

core::Result<Network> parse(const std::string& text) { return parse_network_yaml(text, {.file = "net.yaml"}); }

std::string error_of(const std::string& text) {
  auto net = parse(text);
  if (net) return "(no error)";
  return net.error().to_string();
}

const char* kGood = R"(nodes:
  - {name: attack, states: [yes, no], cpt: [0.05, 0.95]}
  - name: leak
    states: [yes, no]
    cpt: {"": [0.02, 0.98]}
  - name: crash
    states: [yes, no]
    parents: [attack, leak]
    cpt:
      "yes,yes": [0.9, 0.1]
      "yes, no": [0.6, 0.4]
      "no,yes": [0.3, 0.7]
      "no,no": [0.01, 0.99]
)";

TEST(BayesNetwork, ParsesRowsByParentStates) {
  auto net = parse(kGood);
  ASSERT_TRUE(net) << net.error().to_string();
  const size_t crash = *net->find("crash");
  EXPECT_EQ(net->row_count(crash), 4u);
  EXPECT_EQ(net->row_key(crash, 1), "yes,no");
  EXPECT_DOUBLE_EQ(net->probability(crash, 1, 0), 0.6);
  EXPECT_DOUBLE_EQ(net->probability(crash, 2, 0), 0.3);
  EXPECT_EQ(net->node(crash).line, 6);
  const auto& order = net->topological_order();
  EXPECT_EQ(order.back(), crash);
}

TEST(BayesNetwork, RoundTripsThroughYaml) {
  auto net = parse(kGood);
  ASSERT_TRUE(net);
  auto again = parse(to_yaml(*net, "written by a test\nsecond line"));
  ASSERT_TRUE(again) << again.error().to_string();
  for (size_t v = 0; v < net->size(); ++v) EXPECT_EQ(net->node(v).cpt, again->node(v).cpt);
}

// A state holding a control character was written inside double quotes as itself; a line break
// there reads back as a space (found by fuzz/bayesnet_fuzz.cc). Control characters are escaped.
TEST(BayesNetwork, RoundTripsControlCharactersInNames) {
  auto net = parse("nodes:\n  - {name: \"a\\x01b\", states: [\"x\\ny\", \"u\\tv\", \"\\x7f\"], cpt: [0.5, 0.25, 0.25]}\n");
  ASSERT_TRUE(net) << net.error().to_string();
  EXPECT_EQ(net->node(0).name, "a\x01" "b");
  EXPECT_EQ(net->node(0).states, (std::vector<std::string>{"x\ny", "u\tv", "\x7f"}));
  const std::string text = to_yaml(*net);
  EXPECT_NE(text.find(R"("x\x0ay")"), std::string::npos) << text;
  auto again = parse(text);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->node(0).name, net->node(0).name);
  EXPECT_EQ(again->node(0).states, net->node(0).states);
}

TEST(BayesNetwork, RowThatDoesNotSumToOneNamesNodeRowAndLine) {
  std::string text = kGood;
  text.replace(text.find("[0.3, 0.7]"), 10, "[0.3, 0.8]");
  EXPECT_EQ(error_of(text), "net.yaml:12: node \"crash\": cpt row \"no,yes\" sums to 1.1, expected 1 (±1e-09)");
}

TEST(BayesNetwork, CycleNamesThePath) {
  const std::string text = R"(nodes:
  - {name: a, states: [t, f], parents: [c], cpt: {t: [0.5, 0.5], f: [0.5, 0.5]}}
  - {name: b, states: [t, f], parents: [a], cpt: {t: [0.5, 0.5], f: [0.5, 0.5]}}
  - {name: c, states: [t, f], parents: [b], cpt: {t: [0.5, 0.5], f: [0.5, 0.5]}}
)";
  EXPECT_EQ(error_of(text), "net.yaml:2: node \"a\": the parents form a cycle: a → b → c → a");
}

TEST(BayesNetwork, MissingAndDuplicateRows) {
  std::string missing = kGood;
  missing.erase(missing.find("      \"no,no\""));
  EXPECT_EQ(error_of(missing),
            "net.yaml:9: node \"crash\": cpt row \"no,no\" is missing: every combination of the parents' states "
            "needs a row (4 rows)");
  std::string twice = kGood;
  twice.replace(twice.find("\"no,no\""), 7, "\"no,yes\"");
  // yaml-cpp keeps duplicate keys; the loader reports them.
  EXPECT_EQ(error_of(twice), "net.yaml:13: node \"crash\": cpt row \"no,yes\" given twice (first on line 12)");
}

TEST(BayesNetwork, BadInputsNameTheNode) {
  auto with = [](std::string from, std::string to) {
    std::string text = kGood;
    text.replace(text.find(from), from.size(), to);
    return error_of(text);
  };
  EXPECT_EQ(with("parents: [attack, leak]", "parents: [attack, lek]"),
            "net.yaml:6: node \"crash\": unknown parent \"lek\"");
  EXPECT_EQ(with("name: leak", "name: attack"), "net.yaml:3: node \"attack\": duplicate node (first defined on line 2)");
  EXPECT_EQ(with("{name: attack, states: [yes, no]", "{name: attack, states: [yes, yes]"),
            "net.yaml:2: node \"attack\": duplicate state \"yes\"");
  EXPECT_EQ(with("\"yes,yes\": [0.9, 0.1]", "\"yes,maybe\": [0.9, 0.1]"),
            "net.yaml:10: node \"crash\": cpt row \"yes,maybe\" is not a combination of the parents' states (attack, "
            "leak), e.g. \"yes,yes\"");
  EXPECT_EQ(with("[0.9, 0.1]", "[0.9, 0.05, 0.05]"),
            "net.yaml:10: node \"crash\": cpt row \"yes,yes\": has 3 probabilities, expected 2 (one per state)");
  EXPECT_EQ(with("[0.9, 0.1]", "[1.1, -0.1]"),
            "net.yaml:10: node \"crash\": cpt row \"yes,yes\": 1.1 is not a probability in [0, 1]");
  EXPECT_EQ(with("[0.9, 0.1]", "[0.9, x]"), "net.yaml:10: node \"crash\": cpt row \"yes,yes\": \"x\" is not a number");
  EXPECT_EQ(with("    cpt: {\"\": [0.02, 0.98]}\n", ""),
            "net.yaml:3: node \"leak\": missing its conditional probability table (cpt)");
  EXPECT_EQ(with("states: [yes, no], cpt", "states: [yes], cpt"), "net.yaml:2: node \"attack\": needs at least 2 states, has 1");
  EXPECT_EQ(with("    parents:", "    parent:"),
            "net.yaml:8: node \"crash\": unknown key \"parent\"; expected one of: name, states, parents, cpt, description");
  EXPECT_EQ(error_of("nodes: [\n"), "net.yaml:2: not valid YAML: end of sequence flow not found");
  EXPECT_EQ(error_of("nodes: []\n"), "net.yaml:1: expected \"nodes\": a non-empty list of nodes");
}

TEST(BayesNetwork, StructureWithoutCpts) {
  const std::string text = "nodes:\n  - {name: a, states: [t, f]}\n  - {name: b, states: [t, f], parents: [a]}\n";
  auto net = parse_network_yaml(text, {.file = "s.yaml", .require_cpts = false});
  ASSERT_TRUE(net) << net.error().to_string();
  EXPECT_FALSE(net->complete());
}

TEST(BayesEvidence, ParsesAndRejectsUnknownNamesClearly) {
  auto net = parse(kGood);
  ASSERT_TRUE(net);
  auto ev = parse_evidence(*net, " attack=yes, leak = no ");
  ASSERT_TRUE(ev) << ev.error().to_string();
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[1].node, *net->find("leak"));
  EXPECT_EQ((*ev)[1].state, 1u);
  EXPECT_EQ(parse_evidence(*net, "atack=yes").error().to_string(),
            "evidence \"atack=yes\": unknown node \"atack\"; the nodes are: attack, leak, crash");
  EXPECT_EQ(parse_evidence(*net, "attack=maybe").error().to_string(),
            "evidence \"attack=maybe\": node \"attack\" has no state \"maybe\"; its states are: yes, no");
  EXPECT_EQ(parse_evidence(*net, "attack").error().to_string(), "evidence \"attack\": expected NODE=STATE");
  EXPECT_EQ(parse_evidence(*net, "attack=yes,attack=no").error().to_string(),
            "evidence names node \"attack\" twice, as \"yes\" and \"no\"");
}

}  // namespace
}  // namespace tocsin::bayesnet
