#include "bayesnet/network.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

namespace tocsin::bayesnet {
namespace {

using core::Error;

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Names and states appear inside CPT row keys ("yes,no") and evidence ("n=v"), so they may not
// hold those separators, nor start or end with a space.
std::optional<std::string> bad_name(std::string_view s) {
  if (s.empty()) return "is empty";
  if (s.find_first_of(",=") != std::string_view::npos) return "may not contain ',' or '='";
  if (trim(s).size() != s.size()) return "may not start or end with a space";
  return std::nullopt;
}

}  // namespace

core::Result<Network> Network::build(std::vector<NodeSpec> specs, const BuildOptions& options) {
  auto error = [&](const NodeSpec& spec, std::string message) {
    return std::unexpected(Error::invalid_argument(fmt::format("node \"{}\": {}", spec.name, message))
                               .at({options.file, spec.line, 0}));
  };
  if (specs.empty()) {
    return std::unexpected(Error::invalid_argument("the network has no nodes").at({options.file, 0, 0}));
  }
  Network net;
  net.file_ = options.file;
  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < specs.size(); ++i) {
    const NodeSpec& spec = specs[i];
    if (auto why = bad_name(spec.name)) {
      return std::unexpected(Error::invalid_argument(fmt::format("node name {}", *why)).at({options.file, spec.line, 0}));
    }
    if (auto [at, fresh] = index.emplace(spec.name, i); !fresh) {
      const int first = specs[at->second].line;
      return error(spec, first > 0 ? fmt::format("duplicate node (first defined on line {})", first)
                                   : std::string("duplicate node"));
    }
    if (spec.states.size() < 2) {
      return error(spec, fmt::format("needs at least 2 states, has {}", spec.states.size()));
    }
    std::set<std::string_view> seen;
    for (const auto& state : spec.states) {
      if (auto why = bad_name(state)) return error(spec, fmt::format("state \"{}\" {}", state, *why));
      if (!seen.insert(state).second) return error(spec, fmt::format("duplicate state \"{}\"", state));
    }
  }
  for (const NodeSpec& spec : specs) {
    Node node{spec.name, spec.states, {}, spec.cpt, spec.line};
    std::set<size_t> seen;
    for (const auto& parent : spec.parents) {
      auto it = index.find(parent);
      if (it == index.end()) return error(spec, fmt::format("unknown parent \"{}\"", parent));
      if (it->second == index.at(spec.name)) return error(spec, "is its own parent");
      if (!seen.insert(it->second).second) return error(spec, fmt::format("parent \"{}\" listed twice", parent));
      node.parents.push_back(it->second);
    }
    net.nodes_.push_back(std::move(node));
  }

  // Cycle check and topological order: depth-first, parents first; a grey node met again closes
  // a cycle, which is reported as the path along parent → child edges.
  enum class Mark { kWhite, kGrey, kBlack };
  std::vector<Mark> mark(net.nodes_.size(), Mark::kWhite);
  std::vector<size_t> stack;  // the current path, child → parent
  std::optional<Error> cycle;
  auto visit = [&](auto&& self, size_t v) -> void {
    if (cycle) return;
    mark[v] = Mark::kGrey;
    stack.push_back(v);
    for (size_t p : net.nodes_[v].parents) {
      if (cycle) return;
      if (mark[p] == Mark::kGrey) {
        // stack[i + 1] is a parent of stack[i], and p = stack[j] is a parent of v = stack.back(),
        // so the edges (parent → child) run p → v → stack[last - 1] → … → stack[j] = p.
        size_t j = stack.size() - 1;
        while (stack[j] != p) --j;
        std::vector<std::string> edges{net.nodes_[p].name};
        for (size_t k = stack.size(); k-- > j;) edges.push_back(net.nodes_[stack[k]].name);
        cycle = Error::invalid_argument(fmt::format("node \"{}\": the parents form a cycle: {}", net.nodes_[p].name,
                                                    join(edges, " → ")))
                    .at({options.file, net.nodes_[p].line, 0});
        return;
      }
      if (mark[p] == Mark::kWhite) self(self, p);
    }
    stack.pop_back();
    mark[v] = Mark::kBlack;
    net.order_.push_back(v);
  };
  for (size_t v = 0; v < net.nodes_.size() && !cycle; ++v) {
    if (mark[v] == Mark::kWhite) visit(visit, v);
  }
  if (cycle) return std::unexpected(std::move(*cycle));

  for (size_t v = 0; v < net.nodes_.size(); ++v) {
    const Node& node = net.nodes_[v];
    const NodeSpec& spec = specs[v];
    if (node.cpt.empty()) {
      if (options.require_cpts) return error(spec, "missing its conditional probability table (cpt)");
      continue;
    }
    const size_t rows = net.row_count(v);
    const size_t width = node.states.size();
    if (node.cpt.size() != rows * width) {
      return error(spec, fmt::format("the cpt has {} numbers, expected {} rows × {} states = {}", node.cpt.size(), rows,
                                     width, rows * width));
    }
    for (size_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (size_t s = 0; s < width; ++s) {
        const double p = node.cpt[r * width + s];
        if (!std::isfinite(p) || p < 0 || p > 1) {
          return error(spec, fmt::format("cpt row \"{}\": {} is not a probability in [0, 1]", net.row_key(v, r), p));
        }
        sum += p;
      }
      if (std::abs(sum - 1) > kRowSumTolerance) {
        return error(spec, fmt::format("cpt row \"{}\" sums to {}, expected 1 (±{})", net.row_key(v, r), sum,
                                       kRowSumTolerance));
      }
    }
  }
  return net;
}

std::optional<size_t> Network::find(std::string_view name) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return i;
  }
  return std::nullopt;
}

bool Network::complete() const {
  for (const auto& node : nodes_) {
    if (node.cpt.empty()) return false;
  }
  return true;
}

size_t Network::row_count(size_t node) const {
  size_t rows = 1;
  for (size_t p : nodes_[node].parents) rows *= nodes_[p].states.size();
  return rows;
}

size_t Network::row_of(size_t node, const std::vector<size_t>& assignment) const {
  size_t row = 0;
  for (size_t p : nodes_[node].parents) row = row * nodes_[p].states.size() + assignment[p];
  return row;
}

std::string Network::row_key(size_t node, size_t row) const {
  const auto& parents = nodes_[node].parents;
  std::vector<std::string> parts(parents.size());
  for (size_t k = parents.size(); k-- > 0;) {
    const size_t card = nodes_[parents[k]].states.size();
    parts[k] = nodes_[parents[k]].states[row % card];
    row /= card;
  }
  return join(parts, ",");
}

std::vector<NodeSpec> Network::specs() const {
  std::vector<NodeSpec> out;
  for (const auto& node : nodes_) {
    NodeSpec spec{node.name, node.states, {}, node.cpt, node.line};
    for (size_t p : node.parents) spec.parents.push_back(nodes_[p].name);
    out.push_back(std::move(spec));
  }
  return out;
}

core::Result<Evidence> parse_evidence(const Network& network, std::string_view text) {
  Evidence evidence;
  text = trim(text);
  if (text.empty()) return evidence;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = trim(text.substr(start, end - start));
    start = end + 1;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return std::unexpected(Error::invalid_argument(fmt::format("evidence \"{}\": expected NODE=STATE", item)));
    }
    const std::string_view name = trim(item.substr(0, eq));
    const std::string_view state = trim(item.substr(eq + 1));
    auto node = network.find(name);
    if (!node) {
      std::vector<std::string> names;
      for (const auto& n : network.nodes()) names.push_back(n.name);
      return std::unexpected(Error::invalid_argument(
          fmt::format("evidence \"{}\": unknown node \"{}\"; the nodes are: {}", item, name, join(names))));
    }
    const auto& states = network.node(*node).states;
    size_t s = 0;
    while (s < states.size() && states[s] != state) ++s;
    if (s == states.size()) {
      return std::unexpected(Error::invalid_argument(fmt::format(
          "evidence \"{}\": node \"{}\" has no state \"{}\"; its states are: {}", item, name, state, join(states))));
    }
    for (const auto& o : evidence) {
      if (o.node == *node && o.state != s) {
        return std::unexpected(Error::invalid_argument(fmt::format("evidence names node \"{}\" twice, as \"{}\" and \"{}\"",
                                                                   name, states[o.state], state)));
      }
    }
    evidence.push_back({*node, s});
    if (end == text.size()) break;
  }
  return evidence;
}

}  // namespace tocsin::bayesnet
