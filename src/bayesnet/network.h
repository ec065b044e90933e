// A discrete Bayesian network: nodes with named states, parents, and one conditional probability
// table (CPT) per node. `Network::build` is the only way to make one, and it validates
// everything (unique names and states, known parents, no cycle, CPT shape, rows summing to 1), so
// a `Network` in hand is always consistent. The YAML format lives in yaml_format.h.
//
// CPT layout: one row per combination of the parents' states, each row a distribution over the
// node's own states. Rows are numbered like a counter over the parents in their listed order, the
// last parent changing fastest: with parents [a, b] of states [yes, no], rows are "yes,yes",
// "yes,no", "no,yes", "no,no". A node without parents has one row, keyed "".
//
// Thread-safety: an immutable value type once built.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tocsin::bayesnet {

// Rows must sum to 1 within this (absolute) tolerance.
inline constexpr double kRowSumTolerance = 1e-9;

// A node as written by a person or a program, before validation.
struct NodeSpec {
  std::string name;
  std::vector<std::string> states;
  std::vector<std::string> parents;
  std::vector<double> cpt;  // row-major, rows × states; empty = not given
  int line = 0;             // where the node is defined (1-based; 0 = unknown), for errors
};

struct BuildOptions {
  std::string file;          // for errors: "net.yaml:12: …"
  bool require_cpts = true;  // false: a structure (states and parents) with CPTs optional, for learning
};

struct Node {
  std::string name;
  std::vector<std::string> states;
  std::vector<size_t> parents;  // indices into Network::nodes(), in the order written
  std::vector<double> cpt;      // row_count() × states.size(), or empty in a structure-only network
  int line = 0;
};

class Network {
 public:
  // Validates `specs` and builds the network; every error names the node, and its line when known.
  static core::Result<Network> build(std::vector<NodeSpec> specs, const BuildOptions& options = {});

  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(size_t index) const { return nodes_[index]; }
  size_t size() const { return nodes_.size(); }
  std::optional<size_t> find(std::string_view name) const;
  // Parents before children.
  const std::vector<size_t>& topological_order() const { return order_; }
  // True when every node has its CPT.
  bool complete() const;

  // Number of CPT rows of `node`: the product of its parents' state counts (1 without parents).
  size_t row_count(size_t node) const;
  // The CPT row of `node` for a full assignment of the network (state index per node).
  size_t row_of(size_t node, const std::vector<size_t>& assignment) const;
  // "yes,no": the parents' states of row `row`, in parent order ("" without parents).
  std::string row_key(size_t node, size_t row) const;
  // P(node = state | parents as in row).
  double probability(size_t node, size_t row, size_t state) const {
    return nodes_[node].cpt[row * nodes_[node].states.size() + state];
  }
  const std::string& file() const { return file_; }
  // A copy of the nodes as specs (parents by name), e.g. to replace CPTs and build again.
  std::vector<NodeSpec> specs() const;

 private:
  std::string file_;
  std::vector<Node> nodes_;
  std::vector<size_t> order_;
};

// Evidence: observed states, as (node index, state index) pairs.
struct Observation {
  size_t node = 0;
  size_t state = 0;
};
using Evidence = std::vector<Observation>;

// Parses "N=v,M=w" (spaces around names allowed; empty text = no evidence). An unknown node or
// state is an error that lists what exists; the same node twice with different states is an error.
core::Result<Evidence> parse_evidence(const Network& network, std::string_view text);

}  // namespace tocsin::bayesnet
