#include "bayesnet/inference.h"

#include <gtest/gtest.h>

#include <random>

#include "bayesnet/yaml_format.h"

namespace tocsin::bayesnet {
namespace {

// A random DAG: node i may only have parents among 0..i-1 (then the nodes are shuffled so the
// file order is not the topological order), random state counts and random CPT rows.
Network random_network(std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> node_count(3, 7);
  std::uniform_int_distribution<size_t> state_count(2, 3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const size_t n = node_count(rng);
  std::vector<NodeSpec> specs(n);
  for (size_t i = 0; i < n; ++i) {
    specs[i].name = "n" + std::to_string(i);
    const size_t states = state_count(rng);
    for (size_t s = 0; s < states; ++s) specs[i].states.push_back("s" + std::to_string(s));
    for (size_t p = 0; p < i; ++p) {
      if (unit(rng) < 0.4 && specs[i].parents.size() < 3) specs[i].parents.push_back(specs[p].name);
    }
  }
  std::shuffle(specs.begin(), specs.end(), rng);
  auto shape = Network::build(specs, {.file = "random", .require_cpts = false});
  EXPECT_TRUE(shape) << shape.error().to_string();
  for (size_t v = 0; v < n; ++v) {
    const size_t width = specs[v].states.size();
    for (size_t r = 0; r < shape->row_count(v); ++r) {
      std::vector<double> row(width);
      double sum = 0;
      for (double& p : row) sum += (p = unit(rng) + 0.01);
      for (double& p : row) specs[v].cpt.push_back(p / sum);
    }
  }
  auto net = Network::build(specs);
  EXPECT_TRUE(net) << net.error().to_string();
  return std::move(*net);
}

TEST(BayesInference, VariableEliminationEqualsEnumerationOnRandomNetworks) {
  std::mt19937_64 rng(20261204);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  size_t compared = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Network net = random_network(rng);
    std::uniform_int_distribution<size_t> pick(0, net.size() - 1);
    const size_t query = pick(rng);
    Evidence evidence;
    for (size_t v = 0; v < net.size(); ++v) {
      // Now and then evidence on the query itself, to cover that path too.
      if (unit(rng) < 0.35) {
        std::uniform_int_distribution<size_t> state(0, net.node(v).states.size() - 1);
        evidence.push_back({v, state(rng)});
      }
    }
    auto ve = posterior(net, query, evidence);
    auto brute = posterior_by_enumeration(net, query, evidence);
    ASSERT_TRUE(ve) << ve.error().to_string();
    ASSERT_TRUE(brute) << brute.error().to_string();
    ASSERT_EQ(ve->probabilities.size(), brute->probabilities.size());
    for (size_t s = 0; s < ve->probabilities.size(); ++s) {
      EXPECT_NEAR(ve->probabilities[s], brute->probabilities[s], 1e-12) << "trial " << trial << " state " << s;
    }
    EXPECT_NEAR(ve->evidence_probability, brute->evidence_probability, 1e-12 * brute->evidence_probability);
    EXPECT_EQ(ve->map_state, brute->map_state);
    ++compared;
  }
  EXPECT_EQ(compared, 300u);
}

// P(nodes = states, evidence) by summing the full joint: an independent check of an assignment.
double joint_of(const Network& net, const std::vector<size_t>& nodes, const std::vector<size_t>& states,
                const Evidence& evidence) {
  std::vector<std::optional<size_t>> fixed(net.size());
  for (const auto& o : evidence) fixed[o.node] = o.state;
  for (size_t k = 0; k < nodes.size(); ++k) fixed[nodes[k]] = states[k];
  std::vector<size_t> a(net.size(), 0);
  double total = 0;
  while (true) {
    bool ok = true;
    for (size_t v = 0; v < net.size() && ok; ++v) ok = !fixed[v] || *fixed[v] == a[v];
    if (ok) {
      double p = 1;
      for (size_t v = 0; v < net.size(); ++v) p *= net.probability(v, net.row_of(v, a), a[v]);
      total += p;
    }
    size_t k = net.size();
    while (k-- > 0 && ++a[k] == net.node(k).states.size()) a[k] = 0;
    if (k == static_cast<size_t>(-1)) break;
  }
  return total;
}

TEST(BayesInference, JointMapEqualsEnumerationOnRandomNetworks) {
  std::mt19937_64 rng(20261205);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  size_t compared = 0, mpe = 0, partial = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const Network net = random_network(rng);
    Evidence evidence;
    std::vector<size_t> map_nodes;
    const bool explain_all = trial % 4 == 0;
    for (size_t v = 0; v < net.size(); ++v) {
      const double u = unit(rng);
      if (u < 0.3) {
        std::uniform_int_distribution<size_t> state(0, net.node(v).states.size() - 1);
        evidence.push_back({v, state(rng)});
      } else if (explain_all || u < 0.65) {
        map_nodes.push_back(v);
      }
    }
    if (map_nodes.empty()) continue;
    std::shuffle(map_nodes.begin(), map_nodes.end(), rng);  // any order: results follow it
    auto ve = explain_all ? most_probable_explanation(net, evidence) : map_assignment(net, map_nodes, evidence);
    if (explain_all) std::sort(map_nodes.begin(), map_nodes.end());
    auto brute = map_by_enumeration(net, map_nodes, evidence);
    ASSERT_TRUE(ve) << ve.error().to_string();
    ASSERT_TRUE(brute) << brute.error().to_string();
    ASSERT_EQ(ve->nodes, map_nodes);
    EXPECT_EQ(ve->states, brute->states) << "trial " << trial;
    EXPECT_NEAR(ve->joint_probability, brute->joint_probability, 1e-12 * brute->joint_probability) << "trial " << trial;
    EXPECT_NEAR(ve->evidence_probability, brute->evidence_probability, 1e-12 * brute->evidence_probability);
    EXPECT_NEAR(ve->probability, brute->probability, 1e-12) << "trial " << trial;
    // The assignment returned really has that probability.
    EXPECT_NEAR(joint_of(net, ve->nodes, ve->states, evidence), ve->joint_probability, 1e-12 * ve->joint_probability);
    ++compared;
    (explain_all ? mpe : partial) += 1;
  }
  EXPECT_GT(mpe, 80u);
  EXPECT_GT(partial, 200u);
  EXPECT_EQ(compared, mpe + partial);
}

TEST(BayesInference, MapOfANodeIsNotItsStateInTheMostProbableExplanation) {
  // a is likely yes (0.6), but then b spreads over three states; a = no fixes b = low. So the MAP
  // of a alone is yes (0.6) while the most probable full explanation is (no, low) at 0.4 against
  // 0.2 for any (yes, ·): summing b out and maximising it give different answers.
  auto net = parse_network_yaml(R"(nodes:
  - {name: a, states: [yes, no], cpt: [0.6, 0.4]}
  - name: b
    states: [low, mid, high]
    parents: [a]
    cpt: {"yes": [0.3333333333333333, 0.3333333333333333, 0.3333333333333334], "no": [1.0, 0.0, 0.0]}
)",
                                {.file = "x.yaml"});
  ASSERT_TRUE(net) << net.error().to_string();
  auto map_a = map_assignment(*net, {0}, {});
  ASSERT_TRUE(map_a) << map_a.error().to_string();
  EXPECT_EQ(map_a->states, (std::vector<size_t>{0}));
  EXPECT_NEAR(map_a->probability, 0.6, 1e-15);
  auto mpe = most_probable_explanation(*net, {});
  ASSERT_TRUE(mpe) << mpe.error().to_string();
  EXPECT_EQ(mpe->nodes, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(mpe->states, (std::vector<size_t>{1, 0}));
  EXPECT_NEAR(mpe->probability, 0.4, 1e-15);
  // Evidence b = mid rules a = no out.
  auto given_mid = map_assignment(*net, {0}, {{1, 1}});
  ASSERT_TRUE(given_mid);
  EXPECT_EQ(given_mid->states, (std::vector<size_t>{0}));
  EXPECT_NEAR(given_mid->probability, 1.0, 1e-15);
  EXPECT_NEAR(given_mid->evidence_probability, 0.2, 1e-15);
}

TEST(BayesInference, MapBadInput) {
  auto net = parse_network_yaml("nodes:\n  - {name: a, states: [t, f], cpt: [1.0, 0.0]}\n"
                                "  - {name: b, states: [t, f], parents: [a], cpt: {t: [0.5, 0.5], f: [0.5, 0.5]}}\n",
                                {.file = "x.yaml"});
  ASSERT_TRUE(net) << net.error().to_string();
  EXPECT_EQ(map_assignment(*net, {}, {}).error().message(), "no MAP nodes: name at least one");
  EXPECT_EQ(map_assignment(*net, {1, 1}, {}).error().message(), "MAP node \"b\" is named twice");
  EXPECT_EQ(map_assignment(*net, {0}, {{0, 0}}).error().message(),
            "MAP node \"a\" is also evidence; leave it out of the MAP nodes (its state is known)");
  EXPECT_EQ(map_assignment(*net, {1}, {{0, 1}}).error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(most_probable_explanation(*net, {{0, 0}, {1, 0}}).error().message(),
            "every node is evidence: there is nothing left to explain");
}

TEST(BayesInference, NaivePosteriorOfTheWorkedExample) {
  // P(crash) = 0.01, P(e1|crash) = 0.8, P(e2|crash) = 0.9, P(e1) = 0.5, P(e2) = 0.8.
  auto p = naive_posterior(0.01, {0.8, 0.9}, {0.5, 0.8});
  ASSERT_TRUE(p);
  EXPECT_NEAR(*p, 0.018, 1e-15);
  EXPECT_FALSE(naive_posterior(0.01, {0.8}, {0.5, 0.8}));
  EXPECT_FALSE(naive_posterior(0.01, {0.8}, {0.0}));
}

// The same numbers as a network crash → e1, crash → e2, with P(e|¬crash) chosen so the marginals
// are 0.5 and 0.8. e1 and e2 are independent given crash but not unconditionally, so the exact
// posterior is 0.0072 / P(e1, e2), not 0.0072 / (P(e1)·P(e2)) = 0.018.
TEST(BayesInference, WorkedExampleAsANetwork) {
  const double q1 = (0.5 - 0.01 * 0.8) / 0.99;  // P(e1 | ¬crash)
  const double q2 = (0.8 - 0.01 * 0.9) / 0.99;  // P(e2 | ¬crash)
  auto net = Network::build({
      {"crash", {"yes", "no"}, {}, {0.01, 0.99}},
      {"e1", {"yes", "no"}, {"crash"}, {0.8, 0.2, q1, 1 - q1}},
      {"e2", {"yes", "no"}, {"crash"}, {0.9, 0.1, q2, 1 - q2}},
  });
  ASSERT_TRUE(net) << net.error().to_string();
  const size_t crash = 0;
  // The marginals are what the example says.
  auto e1 = posterior(*net, 1, {});
  auto e2 = posterior(*net, 2, {});
  ASSERT_TRUE(e1 && e2);
  EXPECT_NEAR(e1->probabilities[0], 0.5, 1e-15);
  EXPECT_NEAR(e2->probabilities[0], 0.8, 1e-15);
  // Each piece of evidence alone: Bayes' rule is exact, 0.8·0.01/0.5 = 0.016 and 0.9·0.01/0.8.
  EXPECT_NEAR(posterior(*net, crash, {{1, 0}})->probabilities[0], 0.016, 1e-15);
  EXPECT_NEAR(posterior(*net, crash, {{2, 0}})->probabilities[0], 0.01125, 1e-15);
  // Both: P(e1, e2) = 0.0072 + 0.99·q1·q2 ≈ 0.40030 ≠ 0.5·0.8.
  auto both = posterior(*net, crash, {{1, 0}, {2, 0}});
  ASSERT_TRUE(both);
  const double joint = 0.01 * 0.8 * 0.9 + 0.99 * q1 * q2;
  EXPECT_NEAR(both->evidence_probability, joint, 1e-15);
  EXPECT_NEAR(both->probabilities[0], 0.0072 / joint, 1e-15);
  EXPECT_NEAR(both->probabilities[0], 0.017987, 1e-6);
  EXPECT_EQ(both->map_state, 1u);  // still "no"
  // The naive formula is the exact one with P(e1)·P(e2) in place of P(e1, e2).
  EXPECT_NEAR(*naive_posterior(0.01, {0.8, 0.9}, {0.5, 0.8}), 0.0072 / (0.5 * 0.8), 1e-15);
}

TEST(BayesInference, ImpossibleEvidenceIsAClearError) {
  auto net = Network::build({
      {"a", {"t", "f"}, {}, {1.0, 0.0}},
      {"b", {"t", "f"}, {"a"}, {1.0, 0.0, 0.5, 0.5}},
  });
  ASSERT_TRUE(net);
  auto p = posterior(*net, 0, {{1, 1}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().to_string(), "the evidence has probability 0 in this network, so P(a | evidence) is undefined");
}

TEST(BayesInference, ShippedExampleNetwork) {
  auto net = load_network(TOCSIN_SOURCE_DIR "/examples/bayes/system_crash.yaml");
  ASSERT_TRUE(net) << net.error().to_string();
  const size_t crash = *net->find("system_crash");
  auto evidence = parse_evidence(*net, "attack_strength=high,leak_degree=none");
  ASSERT_TRUE(evidence);
  auto ve = posterior(*net, crash, *evidence);
  auto brute = posterior_by_enumeration(*net, crash, *evidence);
  ASSERT_TRUE(ve && brute);
  EXPECT_NEAR(ve->probabilities[0], brute->probabilities[0], 1e-12);
  // A strong attack signature raises the crash probability well above its prior.
  auto prior = posterior(*net, crash, {});
  ASSERT_TRUE(prior);
  EXPECT_GT(ve->probabilities[0], 2 * prior->probabilities[0]);
}

}  // namespace
}  // namespace tocsin::bayesnet
