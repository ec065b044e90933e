#include "cli/bayes_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "bayesnet/learn.h"
#include "bayesnet/yaml_format.h"
#include "core/csv.h"
#include "core/file_io.h"

namespace tocsin::cli {
namespace {

int fail(const core::Error& error) {
  fmt::print(stderr, "error: {}\n", error.to_string());
  return 1;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (item.empty()) continue;
    out += (out.empty() ? "" : ",") + item;
  }
  return out;
}

}  // namespace

std::string format_posterior(const bayesnet::Network& network, const bayesnet::Evidence& evidence,
                             const bayesnet::Posterior& posterior, bool json) {
  const auto& node = network.node(posterior.node);
  if (json) {
    nlohmann::ordered_json out;
    out["query"] = node.name;
    nlohmann::ordered_json ev = nlohmann::ordered_json::object();
    for (const auto& o : evidence) ev[network.node(o.node).name] = network.node(o.node).states[o.state];
    out["evidence"] = ev;
    nlohmann::ordered_json post = nlohmann::ordered_json::object();
    for (size_t s = 0; s < node.states.size(); ++s) post[node.states[s]] = posterior.probabilities[s];
    out["posterior"] = post;
    out["map"] = node.states[posterior.map_state];
    out["evidence_probability"] = posterior.evidence_probability;
    return out.dump(2) + "\n";
  }
  std::vector<std::string> given;
  for (const auto& o : evidence) given.push_back(network.node(o.node).name + "=" + network.node(o.node).states[o.state]);
  std::string out = given.empty() ? fmt::format("P({})\n", node.name)
                                  : fmt::format("P({} | {})\n", node.name, fmt::join(given, ", "));
  size_t width = 5;
  for (const auto& s : node.states) width = std::max(width, s.size());
  out += fmt::format("  {:<{}}  probability\n", "state", width);
  for (size_t s = 0; s < node.states.size(); ++s) {
    out += fmt::format("  {:<{}}  {:.6f}{}\n", node.states[s], width, posterior.probabilities[s],
                       s == posterior.map_state ? "  ← MAP" : "");
  }
  out += fmt::format("MAP state: {} (p = {:.6f})\n", node.states[posterior.map_state],
                     posterior.probabilities[posterior.map_state]);
  if (!evidence.empty()) out += fmt::format("P(evidence) = {:.6g}\n", posterior.evidence_probability);
  return out;
}

std::string format_map(const bayesnet::Network& network, const bayesnet::Evidence& evidence,
                       const bayesnet::MapResult& map, bool json) {
  if (json) {
    nlohmann::ordered_json out;
    out["map_nodes"] = nlohmann::ordered_json::array();
    for (size_t v : map.nodes) out["map_nodes"].push_back(network.node(v).name);
    nlohmann::ordered_json ev = nlohmann::ordered_json::object();
    for (const auto& o : evidence) ev[network.node(o.node).name] = network.node(o.node).states[o.state];
    out["evidence"] = ev;
    nlohmann::ordered_json states = nlohmann::ordered_json::object();
    for (size_t k = 0; k < map.nodes.size(); ++k) states[network.node(map.nodes[k]).name] = network.node(map.nodes[k]).states[map.states[k]];
    out["map"] = states;
    out["probability"] = map.probability;
    out["joint_probability"] = map.joint_probability;
    out["evidence_probability"] = map.evidence_probability;
    return out.dump(2) + "\n";
  }
  std::vector<std::string> names, given, assigned;
  for (size_t v : map.nodes) names.push_back(network.node(v).name);
  for (const auto& o : evidence) given.push_back(network.node(o.node).name + "=" + network.node(o.node).states[o.state]);
  size_t width = 4;
  for (const auto& n : names) width = std::max(width, n.size());
  std::string out = given.empty() ? fmt::format("MAP of {}\n", fmt::join(names, ", "))
                                  : fmt::format("MAP of {} | {}\n", fmt::join(names, ", "), fmt::join(given, ", "));
  out += fmt::format("  {:<{}}  state\n", "node", width);
  for (size_t k = 0; k < map.nodes.size(); ++k) {
    const auto& node = network.node(map.nodes[k]);
    out += fmt::format("  {:<{}}  {}\n", node.name, width, node.states[map.states[k]]);
    assigned.push_back(node.name + "=" + node.states[map.states[k]]);
  }
  out += fmt::format("P({}{}) = {:.6g}\n", fmt::join(assigned, ", "), given.empty() ? "" : " | evidence", map.probability);
  if (!evidence.empty()) out += fmt::format("P(evidence) = {:.6g}\n", map.evidence_probability);
  return out;
}

namespace {

// The MAP of --map NODES (or of every unobserved node with --mpe).
int run_bayes_map(const BayesQueryCommand& command, const bayesnet::Network& network,
                  const bayesnet::Evidence& evidence) {
  core::Result<bayesnet::MapResult> result;
  if (command.mpe) {
    result = bayesnet::most_probable_explanation(network, evidence);
  } else {
    std::vector<size_t> nodes;
    const std::string list = join(command.map);
    for (size_t start = 0; start <= list.size();) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      const std::string name(core::trim_blanks(std::string_view(list).substr(start, end - start)));
      start = end + 1;
      if (name.empty()) continue;
      auto v = network.find(name);
      if (!v) {
        std::vector<std::string> all;
        for (const auto& n : network.nodes()) all.push_back(n.name);
        return fail(core::Error::invalid_argument(fmt::format("--map: unknown node \"{}\" in {}; the nodes are: {}",
                                                              name, command.net, fmt::join(all, ", "))));
      }
      nodes.push_back(*v);
    }
    result = bayesnet::map_assignment(network, nodes, evidence);
    if (!result && result.error().code() == core::ErrorCode::kInvalidArgument) {
      return fail(core::Error::invalid_argument("--map: " + result.error().message()));
    }
  }
  if (!result) return fail(result.error());
  fmt::print("{}", format_map(network, evidence, *result, command.json));
  return 0;
}

}  // namespace

int run_bayes_query(const BayesQueryCommand& command) {
  const int modes = (command.query.empty() ? 0 : 1) + (command.map.empty() ? 0 : 1) + (command.mpe ? 1 : 0);
  if (modes != 1) {
    return fail(core::Error::invalid_argument("give exactly one of --query NODE, --map NODE,… and --mpe"));
  }
  auto network = bayesnet::load_network(command.net);
  if (!network) return fail(network.error());
  if (command.query.empty()) {
    auto evidence = bayesnet::parse_evidence(*network, join(command.evidence));
    if (!evidence) return fail(core::Error::invalid_argument("--evidence: " + evidence.error().message()));
    return run_bayes_map(command, *network, *evidence);
  }
  auto query = network->find(command.query);
  if (!query) {
    std::vector<std::string> names;
    for (const auto& n : network->nodes()) names.push_back(n.name);
    return fail(core::Error::invalid_argument(fmt::format("--query: unknown node \"{}\" in {}; the nodes are: {}",
                                                          command.query, command.net, fmt::join(names, ", "))));
  }
  auto evidence = bayesnet::parse_evidence(*network, join(command.evidence));
  if (!evidence) return fail(core::Error::invalid_argument("--evidence: " + evidence.error().message()));
  auto result = bayesnet::posterior(*network, *query, *evidence);
  if (!result) return fail(result.error());
  fmt::print("{}", format_posterior(*network, *evidence, *result, command.json));
  return 0;
}

int run_bayes_learn(const BayesLearnCommand& command) {
  auto structure = bayesnet::load_network(command.net, {.file = command.net, .require_cpts = false});
  if (!structure) return fail(structure.error());
  std::ifstream data(command.data, std::ios::binary);
  if (!data) return fail(core::Error::not_found(fmt::format("{}: cannot open the file", command.data)));
  auto learned = bayesnet::learn_cpts(*structure, data, {.alpha = command.alpha, .data_name = command.data});
  if (!learned) return fail(learned.error());
  std::vector<std::string> used;
  for (size_t v = 0; v < learned->network.size(); ++v) {
    used.push_back(fmt::format("{} {}", learned->network.node(v).name, learned->counts.rows_used[v]));
  }
  const std::string comment = fmt::format(
      "CPTs learnt by `tocsin bayes learn` from {} ({} rows, {} with missing values) with Laplace smoothing,\n"
      "alpha = {}, on the structure of {}: P(x | u) = (N(x, u) + alpha) / (N(u) + alpha * states).\n"
      "Each CPT counts the rows where its node and parents are all observed: {}.",
      command.data, learned->counts.rows, learned->counts.rows_with_missing, command.alpha, command.net,
      fmt::join(used, ", "));
  if (auto written = core::write_file_atomically(command.out, bayesnet::to_yaml(learned->network, comment)); !written) {
    return fail(written.error());
  }
  fmt::print(stderr, "learnt {} CPTs from {} rows ({} with missing values); wrote {}\n", learned->network.size(),
             learned->counts.rows, learned->counts.rows_with_missing, command.out);
  fmt::print(stderr, "rows used per CPT (node and parents observed): {}\n", fmt::join(used, ", "));
  return 0;
}

}  // namespace tocsin::cli
