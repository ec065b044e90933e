#include "bayesnet/inference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace tocsin::bayesnet {
namespace {

using core::Error;

// A table over some nodes: `values` in row-major order of `vars` (ascending node indices), the
// last variable changing fastest.
struct Factor {
  std::vector<size_t> vars;
  std::vector<size_t> cards;
  std::vector<double> values;

  bool has(size_t var) const { return std::binary_search(vars.begin(), vars.end(), var); }
};

size_t table_size(const std::vector<size_t>& cards) {
  size_t n = 1;
  for (size_t c : cards) n *= c;
  return n;
}

// For each variable of `over`, its stride in `f` (0 when `f` does not have it).
std::vector<size_t> strides_in(const Factor& f, const std::vector<size_t>& over) {
  std::vector<size_t> own(f.vars.size());
  size_t stride = 1;
  for (size_t k = f.vars.size(); k-- > 0;) {
    own[k] = stride;
    stride *= f.cards[k];
  }
  std::vector<size_t> out(over.size(), 0);
  for (size_t k = 0; k < over.size(); ++k) {
    auto it = std::lower_bound(f.vars.begin(), f.vars.end(), over[k]);
    if (it != f.vars.end() && *it == over[k]) out[k] = own[static_cast<size_t>(it - f.vars.begin())];
  }
  return out;
}

// Visits every assignment of `cards` in row-major order, keeping one running index per stride
// vector in `strides`; `visit(i, indices)` gets the flat position and those indices.
template <class Visit>
void for_each_assignment(const std::vector<size_t>& cards, const std::vector<std::vector<size_t>>& strides,
                         Visit&& visit) {
  std::vector<size_t> counter(cards.size(), 0);
  std::vector<size_t> index(strides.size(), 0);
  const size_t total = table_size(cards);
  for (size_t i = 0; i < total; ++i) {
    visit(i, index);
    for (size_t k = cards.size(); k-- > 0;) {
      ++counter[k];
      for (size_t s = 0; s < strides.size(); ++s) index[s] += strides[s][k];
      if (counter[k] < cards[k]) break;
      counter[k] = 0;
      for (size_t s = 0; s < strides.size(); ++s) index[s] -= cards[k] * strides[s][k];
    }
  }
}

Factor product(const Factor& a, const Factor& b) {
  Factor out;
  std::set_union(a.vars.begin(), a.vars.end(), b.vars.begin(), b.vars.end(), std::back_inserter(out.vars));
  for (size_t v : out.vars) {
    auto it = std::lower_bound(a.vars.begin(), a.vars.end(), v);
    out.cards.push_back(it != a.vars.end() && *it == v
                            ? a.cards[static_cast<size_t>(it - a.vars.begin())]
                            : b.cards[static_cast<size_t>(std::lower_bound(b.vars.begin(), b.vars.end(), v) -
                                                          b.vars.begin())]);
  }
  out.values.resize(table_size(out.cards));
  for_each_assignment(out.cards, {strides_in(a, out.vars), strides_in(b, out.vars)},
                      [&](size_t i, const std::vector<size_t>& at) { out.values[i] = a.values[at[0]] * b.values[at[1]]; });
  return out;
}

Factor sum_out(const Factor& f, size_t var) {
  Factor out;
  for (size_t k = 0; k < f.vars.size(); ++k) {
    if (f.vars[k] == var) continue;
    out.vars.push_back(f.vars[k]);
    out.cards.push_back(f.cards[k]);
  }
  out.values.assign(table_size(out.cards), 0.0);
  for_each_assignment(f.cards, {strides_in(out, f.vars)},
                      [&](size_t i, const std::vector<size_t>& at) { out.values[at[0]] += f.values[i]; });
  return out;
}

// Maximises `var` out of `f`: the max over its states, and (same scope) which state gave it —
// the first of equals.
std::pair<Factor, Factor> max_out(const Factor& f, size_t var) {
  Factor best;
  for (size_t k = 0; k < f.vars.size(); ++k) {
    if (f.vars[k] == var) continue;
    best.vars.push_back(f.vars[k]);
    best.cards.push_back(f.cards[k]);
  }
  best.values.assign(table_size(best.cards), -1.0);
  Factor arg = best;
  arg.values.assign(best.values.size(), 0.0);
  const size_t at_var = static_cast<size_t>(std::lower_bound(f.vars.begin(), f.vars.end(), var) - f.vars.begin());
  size_t stride = 1;  // of `var` in f's row-major layout
  for (size_t k = at_var + 1; k < f.cards.size(); ++k) stride *= f.cards[k];
  // States of `var` come in increasing order for each assignment of the rest, so a strict `>`
  // keeps the first of equals.
  for_each_assignment(f.cards, {strides_in(best, f.vars)}, [&](size_t i, const std::vector<size_t>& at) {
    if (f.values[i] > best.values[at[0]]) {
      best.values[at[0]] = f.values[i];
      arg.values[at[0]] = static_cast<double>((i / stride) % f.cards[at_var]);
    }
  });
  return {std::move(best), std::move(arg)};
}

// The CPT of `v` as a factor over v and its parents, with observed variables fixed (and dropped
// from the scope) — except `keep`, the query, which stays so its table survives to the end.
Factor cpt_factor(const Network& net, size_t v, const std::vector<std::optional<size_t>>& observed, size_t keep) {
  std::vector<size_t> scope = net.node(v).parents;
  scope.push_back(v);
  std::sort(scope.begin(), scope.end());
  Factor f;
  for (size_t u : scope) {
    if (observed[u] && u != keep) continue;
    f.vars.push_back(u);
    f.cards.push_back(net.node(u).states.size());
  }
  f.values.resize(table_size(f.cards));
  std::vector<size_t> assignment(net.size(), 0);
  for (size_t u : scope) {
    if (observed[u]) assignment[u] = *observed[u];
  }
  std::vector<size_t> counter(f.vars.size(), 0);
  for (size_t i = 0; i < f.values.size(); ++i) {
    for (size_t k = 0; k < f.vars.size(); ++k) assignment[f.vars[k]] = counter[k];
    f.values[i] = net.probability(v, net.row_of(v, assignment), assignment[v]);
    for (size_t k = f.vars.size(); k-- > 0;) {
      if (++counter[k] < f.cards[k]) break;
      counter[k] = 0;
    }
  }
  return f;
}

// Greedy min-fill over the interaction graph of `factors`, eliminating every node in `hidden`.
std::vector<size_t> min_fill_order(size_t n, const std::vector<Factor>& factors, std::vector<size_t> hidden) {
  std::vector<std::set<size_t>> adjacent(n);
  for (const auto& f : factors) {
    for (size_t a : f.vars) {
      for (size_t b : f.vars) {
        if (a != b) adjacent[a].insert(b);
      }
    }
  }
  std::vector<size_t> order;
  while (!hidden.empty()) {
    size_t best = 0;
    size_t best_fill = std::numeric_limits<size_t>::max();
    size_t best_degree = std::numeric_limits<size_t>::max();
    for (size_t k = 0; k < hidden.size(); ++k) {
      const auto& nb = adjacent[hidden[k]];
      size_t fill = 0;
      for (auto a = nb.begin(); a != nb.end(); ++a) {
        for (auto b = std::next(a); b != nb.end(); ++b) {
          if (!adjacent[*a].contains(*b)) ++fill;
        }
      }
      if (fill < best_fill || (fill == best_fill && nb.size() < best_degree)) {
        best = k;
        best_fill = fill;
        best_degree = nb.size();
      }
    }
    const size_t v = hidden[best];
    hidden.erase(hidden.begin() + static_cast<std::ptrdiff_t>(best));
    order.push_back(v);
    for (size_t a : adjacent[v]) {
      for (size_t b : adjacent[v]) {
        if (a != b) adjacent[a].insert(b);
      }
      adjacent[a].erase(v);
    }
    adjacent[v].clear();
  }
  return order;
}

core::Status check(const Network& network, size_t query, const Evidence& evidence) {
  if (!network.complete()) {
    return std::unexpected(Error::failed_precondition("the network has nodes without a cpt; learn or write them first"));
  }
  if (query >= network.size()) return std::unexpected(Error::invalid_argument("query node out of range"));
  for (const auto& o : evidence) {
    if (o.node >= network.size() || o.state >= network.node(o.node).states.size()) {
      return std::unexpected(Error::invalid_argument("evidence out of range"));
    }
  }
  return core::ok();
}

std::vector<std::optional<size_t>> observed_of(const Network& network, const Evidence& evidence) {
  std::vector<std::optional<size_t>> observed(network.size());
  for (const auto& o : evidence) observed[o.node] = o.state;
  return observed;
}

// Normalises `joint` (P(query = s, evidence) per state) into a posterior.
core::Result<Posterior> finish(size_t query, std::vector<double> joint, const Network& network) {
  double total = 0;
  for (double p : joint) total += p;
  if (!(total > 0)) {
    return std::unexpected(Error::failed_precondition(
        fmt::format("the evidence has probability 0 in this network, so P({} | evidence) is undefined",
                    network.node(query).name)));
  }
  Posterior out;
  out.node = query;
  out.evidence_probability = total;
  for (double& p : joint) p /= total;
  out.probabilities = std::move(joint);
  for (size_t s = 1; s < out.probabilities.size(); ++s) {
    if (out.probabilities[s] > out.probabilities[out.map_state]) out.map_state = s;
  }
  return out;
}


// Multiplies the factors that mention `v` into one (removing them from `factors`).
Factor take_product(std::vector<Factor>& factors, size_t v) {
  Factor merged;  // empty scope, value 1
  merged.values = {1.0};
  std::vector<Factor> rest;
  for (auto& f : factors) {
    if (f.has(v)) {
      merged = product(merged, f);
    } else {
      rest.push_back(std::move(f));
    }
  }
  factors = std::move(rest);
  return merged;
}

double product_of_constants(const std::vector<Factor>& factors) {
  double p = 1;
  for (const auto& f : factors) p *= f.values.at(0);
  return p;
}

}  // namespace

core::Result<Posterior> posterior(const Network& network, size_t query, const Evidence& evidence) {
  TOCSIN_RETURN_IF_ERROR(check(network, query, evidence));
  const auto observed = observed_of(network, evidence);
  std::vector<Factor> factors;
  for (size_t v = 0; v < network.size(); ++v) factors.push_back(cpt_factor(network, v, observed, query));
  std::vector<size_t> hidden;
  for (size_t v = 0; v < network.size(); ++v) {
    if (v != query && !observed[v]) hidden.push_back(v);
  }
  const std::vector<size_t> order = min_fill_order(network.size(), factors, hidden);
  for (size_t v : order) {
    Factor merged;  // empty scope, value 1
    merged.values = {1.0};
    std::vector<Factor> rest;
    for (auto& f : factors) {
      if (f.has(v)) {
        merged = product(merged, f);
      } else {
        rest.push_back(std::move(f));
      }
    }
    rest.push_back(sum_out(merged, v));
    factors = std::move(rest);
  }
  Factor result;
  result.values = {1.0};
  for (const auto& f : factors) result = product(result, f);
  // Only the query can be left in scope.
  std::vector<double> joint(network.node(query).states.size(), 0.0);
  if (result.vars.size() != 1 || result.vars[0] != query) {
    return std::unexpected(Error::internal("variable elimination left a factor that is not over the query"));
  }
  for (size_t s = 0; s < joint.size(); ++s) {
    if (!observed[query] || *observed[query] == s) joint[s] = result.values[s];
  }
  auto out = TOCSIN_TRY(finish(query, std::move(joint), network));
  out.elimination_order = order;
  return out;
}

core::Result<Posterior> posterior_by_enumeration(const Network& network, size_t query, const Evidence& evidence) {
  TOCSIN_RETURN_IF_ERROR(check(network, query, evidence));
  const auto observed = observed_of(network, evidence);
  std::vector<size_t> cards;
  for (const auto& node : network.nodes()) cards.push_back(node.states.size());
  std::vector<double> joint(cards[query], 0.0);
  std::vector<size_t> assignment(network.size(), 0);
  const size_t total = table_size(cards);
  for (size_t i = 0; i < total; ++i) {
    bool consistent = true;
    for (size_t v = 0; v < network.size() && consistent; ++v) consistent = !observed[v] || *observed[v] == assignment[v];
    if (consistent) {
      double p = 1;
      for (size_t v = 0; v < network.size(); ++v) p *= network.probability(v, network.row_of(v, assignment), assignment[v]);
      joint[assignment[query]] += p;
    }
    for (size_t k = network.size(); k-- > 0;) {
      if (++assignment[k] < cards[k]) break;
      assignment[k] = 0;
    }
  }
  return finish(query, std::move(joint), network);
}

namespace {

core::Status check_map_nodes(const Network& network, const std::vector<size_t>& map_nodes, const Evidence& evidence) {
  if (map_nodes.empty()) return std::unexpected(Error::invalid_argument("no MAP nodes: name at least one"));
  std::vector<bool> seen(network.size(), false);
  for (size_t v : map_nodes) {
    if (v >= network.size()) return std::unexpected(Error::invalid_argument("MAP node out of range"));
    if (seen[v]) {
      return std::unexpected(
          Error::invalid_argument(fmt::format("MAP node \"{}\" is named twice", network.node(v).name)));
    }
    seen[v] = true;
  }
  for (const auto& o : evidence) {
    if (o.node < network.size() && seen[o.node]) {
      return std::unexpected(Error::invalid_argument(fmt::format(
          "MAP node \"{}\" is also evidence; leave it out of the MAP nodes (its state is known)",
          network.node(o.node).name)));
    }
  }
  return core::ok();
}

core::Status check_evidence_probability(double p) {
  if (p > 0) return core::ok();
  return std::unexpected(
      Error::failed_precondition("the evidence has probability 0 in this network, so no state is most probable"));
}

}  // namespace

core::Result<MapResult> map_assignment(const Network& network, const std::vector<size_t>& map_nodes,
                                       const Evidence& evidence) {
  TOCSIN_RETURN_IF_ERROR(check(network, 0, evidence));
  TOCSIN_RETURN_IF_ERROR(check_map_nodes(network, map_nodes, evidence));
  const auto observed = observed_of(network, evidence);
  std::vector<Factor> factors;
  for (size_t v = 0; v < network.size(); ++v) factors.push_back(cpt_factor(network, v, observed, network.size()));
  std::vector<bool> is_map(network.size(), false);
  for (size_t v : map_nodes) is_map[v] = true;
  std::vector<size_t> summed;
  for (size_t v = 0; v < network.size(); ++v) {
    if (!is_map[v] && !observed[v]) summed.push_back(v);
  }
  // P(evidence): every hidden node summed out, on a copy of the factors.
  double evidence_probability = 0;
  {
    std::vector<Factor> all = factors;
    std::vector<size_t> hidden = summed;
    hidden.insert(hidden.end(), map_nodes.begin(), map_nodes.end());
    for (size_t v : min_fill_order(network.size(), all, hidden)) all.push_back(sum_out(take_product(all, v), v));
    evidence_probability = product_of_constants(all);
    TOCSIN_RETURN_IF_ERROR(check_evidence_probability(evidence_probability));
  }
  // Sum first: max and sum do not commute, so every non-MAP node goes before any MAP node.
  for (size_t v : min_fill_order(network.size(), factors, summed)) factors.push_back(sum_out(take_product(factors, v), v));
  const std::vector<size_t> max_order = min_fill_order(network.size(), factors, map_nodes);
  std::vector<Factor> argmax(network.size());
  for (size_t v : max_order) {
    auto [best, arg] = max_out(take_product(factors, v), v);
    factors.push_back(std::move(best));
    argmax[v] = std::move(arg);
  }
  MapResult out;
  out.joint_probability = product_of_constants(factors);
  // Read the assignment back: the node maximised last depends on nothing left; each earlier one
  // on nodes maximised after it.
  std::vector<size_t> state(network.size(), 0);
  for (auto it = max_order.rbegin(); it != max_order.rend(); ++it) {
    const Factor& arg = argmax[*it];
    size_t index = 0;
    for (size_t k = 0; k < arg.vars.size(); ++k) index = index * arg.cards[k] + state[arg.vars[k]];
    state[*it] = static_cast<size_t>(arg.values[index]);
  }
  out.nodes = map_nodes;
  for (size_t v : map_nodes) out.states.push_back(state[v]);
  out.evidence_probability = evidence_probability;
  out.probability = out.joint_probability / out.evidence_probability;
  return out;
}

core::Result<MapResult> most_probable_explanation(const Network& network, const Evidence& evidence) {
  TOCSIN_RETURN_IF_ERROR(check(network, 0, evidence));
  const auto observed = observed_of(network, evidence);
  std::vector<size_t> nodes;
  for (size_t v = 0; v < network.size(); ++v) {
    if (!observed[v]) nodes.push_back(v);
  }
  if (nodes.empty()) {
    return std::unexpected(Error::invalid_argument("every node is evidence: there is nothing left to explain"));
  }
  return map_assignment(network, nodes, evidence);
}

core::Result<MapResult> map_by_enumeration(const Network& network, const std::vector<size_t>& map_nodes,
                                           const Evidence& evidence) {
  TOCSIN_RETURN_IF_ERROR(check(network, 0, evidence));
  TOCSIN_RETURN_IF_ERROR(check_map_nodes(network, map_nodes, evidence));
  const auto observed = observed_of(network, evidence);
  std::vector<size_t> cards;
  for (const auto& node : network.nodes()) cards.push_back(node.states.size());
  std::vector<size_t> map_cards;
  for (size_t v : map_nodes) map_cards.push_back(cards[v]);
  std::vector<double> joint(table_size(map_cards), 0.0);  // P(Q = q, evidence), counter order over map_nodes
  double pe = 0;
  std::vector<size_t> assignment(network.size(), 0);
  const size_t total = table_size(cards);
  for (size_t i = 0; i < total; ++i) {
    bool consistent = true;
    for (size_t v = 0; v < network.size() && consistent; ++v) consistent = !observed[v] || *observed[v] == assignment[v];
    if (consistent) {
      double p = 1;
      for (size_t v = 0; v < network.size(); ++v) p *= network.probability(v, network.row_of(v, assignment), assignment[v]);
      size_t index = 0;
      for (size_t k = 0; k < map_nodes.size(); ++k) index = index * map_cards[k] + assignment[map_nodes[k]];
      joint[index] += p;
      pe += p;
    }
    for (size_t k = network.size(); k-- > 0;) {
      if (++assignment[k] < cards[k]) break;
      assignment[k] = 0;
    }
  }
  TOCSIN_RETURN_IF_ERROR(check_evidence_probability(pe));
  const size_t best = static_cast<size_t>(std::max_element(joint.begin(), joint.end()) - joint.begin());
  MapResult out;
  out.nodes = map_nodes;
  out.states.resize(map_nodes.size());
  for (size_t k = map_nodes.size(), rest = best; k-- > 0;) {
    out.states[k] = rest % map_cards[k];
    rest /= map_cards[k];
  }
  out.joint_probability = joint[best];
  out.evidence_probability = pe;
  out.probability = joint[best] / pe;
  return out;
}

core::Result<double> naive_posterior(double prior, const std::vector<double>& likelihoods,
                                     const std::vector<double>& evidence_marginals) {
  if (likelihoods.size() != evidence_marginals.size()) {
    return std::unexpected(Error::invalid_argument(fmt::format("{} likelihoods but {} evidence marginals; expected one each",
                                                               likelihoods.size(), evidence_marginals.size())));
  }
  double numerator = prior;
  double denominator = 1;
  for (size_t i = 0; i < likelihoods.size(); ++i) {
    if (!(evidence_marginals[i] > 0 && evidence_marginals[i] <= 1)) {
      return std::unexpected(Error::invalid_argument(
          fmt::format("evidence marginal {} is {}; expected a probability in (0, 1]", i + 1, evidence_marginals[i])));
    }
    numerator *= likelihoods[i];
    denominator *= evidence_marginals[i];
  }
  return numerator / denominator;
}

}  // namespace tocsin::bayesnet
