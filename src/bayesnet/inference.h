// Exact inference on a `Network`: the posterior distribution of one node given evidence, by
// variable elimination; its MAP state; the joint MAP of a set of nodes and the most probable
// explanation (MPE) of all unobserved nodes, by max-sum-product elimination; exact enumeration over the joint (the test oracle, fine
// for a dozen small nodes); and the naive-Bayes posterior formula of the textbook example.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <vector>

#include "bayesnet/network.h"
#include "core/result.h"

namespace tocsin::bayesnet {

struct Posterior {
  size_t node = 0;
  std::vector<double> probabilities;  // P(node = s | evidence), one per state, summing to 1
  double evidence_probability = 1;    // P(evidence) (1 without evidence)
  size_t map_state = 0;               // the most probable state (the first of equals)
  std::vector<size_t> elimination_order;  // the hidden nodes in the order they were summed out
};

// Variable elimination: the CPTs become factors, evidence fixes their observed variables,
// then each hidden node is summed out in a greedy min-fill order (fewest new edges in the
// interaction graph; ties by fewest neighbours, then by index), and what is left is normalised.
// Evidence on `query` itself gives probability 1 to the observed state. Errors: a network
// without CPTs, or evidence of probability 0 (failed_precondition).
core::Result<Posterior> posterior(const Network& network, size_t query, const Evidence& evidence);

// The same answer by summing the full joint distribution over every assignment: exponential in
// the number of nodes, and the reference that variable elimination is tested against.
core::Result<Posterior> posterior_by_enumeration(const Network& network, size_t query, const Evidence& evidence);

// The most probable joint state of a set of nodes given evidence (MAP), with the other hidden
// nodes summed out: argmax over q of P(Q = q | evidence).
struct MapResult {
  std::vector<size_t> nodes;   // the MAP nodes, in the order asked
  std::vector<size_t> states;  // their states in the most probable assignment (same order)
  double probability = 0;      // P(Q = states | evidence)
  double joint_probability = 0;     // P(Q = states, evidence)
  double evidence_probability = 1;  // P(evidence)
};

// Constrained variable elimination: the hidden nodes outside `map_nodes` are summed out first
// (min-fill order), then the MAP nodes are maximised out (min-fill order among them), keeping an
// argmax table per node; the assignment is read back in reverse elimination order. Ties go to the
// lower state index of the node maximised last. Errors: an empty or repeated node list, a MAP
// node that is also evidence (invalid_argument); a network without CPTs, evidence of probability
// 0 (failed_precondition).
core::Result<MapResult> map_assignment(const Network& network, const std::vector<size_t>& map_nodes,
                                       const Evidence& evidence);

// The most probable explanation: MAP over every node that is not evidence.
core::Result<MapResult> most_probable_explanation(const Network& network, const Evidence& evidence);

// The same MAP by enumerating the full joint (the test oracle): ties go to the first assignment in
// counter order over `map_nodes` as given (the last changing fastest).
core::Result<MapResult> map_by_enumeration(const Network& network, const std::vector<size_t>& map_nodes,
                                           const Evidence& evidence);

// The naive-Bayes form of Bayes' rule, evidence items treated as independent both given the
// hypothesis and unconditionally:
//   P(h | e1…en) = P(h) · Π P(ei | h) / Π P(ei)
// e.g. prior 0.01, likelihoods {0.8, 0.9}, marginals {0.5, 0.8} → 0.8·0.9·0.01 / (0.5·0.8) = 0.018.
// Exact only when P(e1…en) = Π P(ei); in a network where the ei share the parent h they are
// dependent through h, P(e1…en) differs, and `posterior()` gives the exact value (docs/bayes.md
// works the example both ways). The result is not clamped: inconsistent inputs can exceed 1.
// Errors: lists of different lengths, or a marginal that is not in (0, 1].
core::Result<double> naive_posterior(double prior, const std::vector<double>& likelihoods,
                                     const std::vector<double>& evidence_marginals);

}  // namespace tocsin::bayesnet
