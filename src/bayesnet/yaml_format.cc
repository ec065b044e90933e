#include "bayesnet/yaml_format.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace tocsin::bayesnet {
namespace {

using core::Error;

// yaml-cpp marks are 0-based and -1 when unset (it also leaves some nodes unmarked); fall back to
// the enclosing node's line then.
int line_of(const YAML::Node& n, int fallback) {
  if (!n.IsDefined()) return fallback;
  const int line = n.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return fmt::format("\"{}\"", n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
  }
}

class Parser {
 public:
  explicit Parser(const BuildOptions& options) : options_(options) {}

  core::Result<Network> parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return std::unexpected(
          Error::invalid_argument(fmt::format("not valid YAML: {}", e.msg)).at({options_.file, e.mark.line + 1, 0}));
    }
    if (!root.IsMap()) return fail(1, "", fmt::format("expected a map with a \"nodes\" list, got {}", describe(root)));
    std::map<std::string, int> seen;
    YAML::Node nodes;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.Scalar();
      const int line = line_of(it->first, 1);
      if (auto [at, fresh] = seen.emplace(key, line); !fresh) {
        return fail(line, "", fmt::format("duplicate key \"{}\" (first on line {})", key, at->second));
      }
      if (key == "nodes") {
        nodes = it->second;
        nodes_line_ = line;
      } else if (key != "name" && key != "description") {
        return fail(line, "", fmt::format("unknown key \"{}\"; expected one of: nodes, name, description", key));
      }
    }
    if (!nodes.IsDefined() || !nodes.IsSequence() || nodes.size() == 0) {
      return fail(nodes_line_ ? nodes_line_ : 1, "", "expected \"nodes\": a non-empty list of nodes");
    }
    std::vector<NodeSpec> specs;
    for (auto it = nodes.begin(); it != nodes.end(); ++it) {
      specs.push_back(TOCSIN_TRY(parse_node(*it, line_of(*it, nodes_line_), specs.size())));
    }
    // Parents are resolved and the table shapes checked by build(); rows were keyed here.
    std::vector<NodeSpec> resolved = specs;
    for (size_t i = 0; i < specs.size(); ++i) resolved[i].cpt.clear();
    // First validate names, parents and cycles without tables, so row keys can be resolved
    // against the parents' states.
    BuildOptions structure = options_;
    structure.require_cpts = false;
    Network shape = TOCSIN_TRY(Network::build(resolved, structure));
    for (size_t i = 0; i < specs.size(); ++i) {
      if (!raw_cpts_[i]) continue;
      resolved[i].cpt = TOCSIN_TRY(parse_cpt(shape, i, *raw_cpts_[i], cpt_lines_[i]));
    }
    return Network::build(std::move(resolved), options_);
  }

 private:
  std::unexpected<Error> fail(int line, const std::string& node, std::string message) const {
    if (!node.empty()) message = fmt::format("node \"{}\": {}", node, message);
    return std::unexpected(Error::invalid_argument(std::move(message)).at({options_.file, line, 0}));
  }

  core::Result<std::vector<std::string>> names(const YAML::Node& n, int line, const std::string& node,
                                               std::string_view what) {
    if (!n.IsSequence()) return fail(line, node, fmt::format("\"{}\" must be a list, got {}", what, describe(n)));
    std::vector<std::string> out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->IsScalar()) {
        return fail(line_of(*it, line), node, fmt::format("\"{}\" must list names, got {}", what, describe(*it)));
      }
      out.push_back(it->Scalar());
    }
    return out;
  }

  core::Result<NodeSpec> parse_node(const YAML::Node& n, int line, size_t index) {
    if (!n.IsMap()) return fail(line, "", fmt::format("nodes[{}]: expected a map, got {}", index, describe(n)));
    NodeSpec spec;
    spec.line = line;
    raw_cpts_.emplace_back();
    cpt_lines_.push_back(line);
    if (auto name = n["name"]; name && name.IsScalar()) {
      spec.name = name.Scalar();
    } else {
      return fail(line, "", fmt::format("nodes[{}]: missing \"name\"", index));
    }
    std::map<std::string, int> seen;
    bool has_states = false;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      const int key_line = line_of(it->first, line);
      if (auto [at, fresh] = seen.emplace(key, key_line); !fresh) {
        return fail(key_line, spec.name, fmt::format("duplicate key \"{}\" (first on line {})", key, at->second));
      }
      if (key == "name") continue;
      if (key == "states") {
        spec.states = TOCSIN_TRY(names(it->second, key_line, spec.name, "states"));
        has_states = true;
      } else if (key == "parents") {
        if (!it->second.IsNull()) spec.parents = TOCSIN_TRY(names(it->second, key_line, spec.name, "parents"));
      } else if (key == "cpt") {
        raw_cpts_.back() = it->second;
        cpt_lines_.back() = key_line;
      } else if (key != "description") {
        return fail(key_line, spec.name,
                    fmt::format("unknown key \"{}\"; expected one of: name, states, parents, cpt, description", key));
      }
    }
    if (!has_states) return fail(line, spec.name, "missing \"states\"");
    return spec;
  }

  core::Result<std::vector<double>> row(const YAML::Node& n, int line, const std::string& node, const std::string& key,
                                        size_t width) {
    const std::string where = fmt::format("cpt row \"{}\"", key);
    if (!n.IsSequence()) {
      return fail(line, node, fmt::format("{}: expected a list of {} probabilities, got {}", where, width, describe(n)));
    }
    if (n.size() != width) {
      return fail(line, node,
                  fmt::format("{}: has {} probabilities, expected {} (one per state)", where, n.size(), width));
    }
    std::vector<double> out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string text = it->IsScalar() ? it->Scalar() : std::string();
      double value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return fail(line_of(*it, line), node, fmt::format("{}: {} is not a number", where, describe(*it)));
      }
      out.push_back(value);
    }
    // Checked here as well as in Network::build so the error points at the row's line.
    double sum = 0;
    for (double p : out) {
      if (!std::isfinite(p) || p < 0 || p > 1) {
        return fail(line, node, fmt::format("{}: {} is not a probability in [0, 1]", where, p));
      }
      sum += p;
    }
    if (std::abs(sum - 1) > kRowSumTolerance) {
      return fail(line, node, fmt::format("{} sums to {}, expected 1 (±{})", where, sum, kRowSumTolerance));
    }
    return out;
  }

  // The table as rows keyed by parent states → the flat layout of Node::cpt.
  core::Result<std::vector<double>> parse_cpt(const Network& shape, size_t v, const YAML::Node& n, int line) {
    const Node& node = shape.node(v);
    const size_t width = node.states.size();
    const size_t rows = shape.row_count(v);
    if (n.IsSequence()) {
      if (!node.parents.empty()) {
        return fail(line, node.name,
                    fmt::format("with parents the cpt must be a map of rows keyed by parent states (\"{}\": […])",
                                shape.row_key(v, 0)));
      }
      return row(n, line, node.name, "", width);
    }
    if (!n.IsMap()) return fail(line, node.name, fmt::format("cpt: expected a map of rows, got {}", describe(n)));
    std::map<std::string, size_t> row_of_key;
    for (size_t r = 0; r < rows; ++r) row_of_key.emplace(shape.row_key(v, r), r);
    std::vector<double> cpt(rows * width);
    std::vector<int> given(rows, 0);  // line of the row, 0 = not yet
    for (auto it = n.begin(); it != n.end(); ++it) {
      const int row_line = line_of(it->first, line);
      if (!it->first.IsScalar() && !it->first.IsNull()) {
        return fail(row_line, node.name, "cpt: row keys must be strings like \"yes,no\"");
      }
      // Normalise "yes, no" to "yes,no".
      std::string key;
      const std::string raw = it->first.IsNull() ? std::string() : it->first.Scalar();
      std::string_view rest = raw;
      for (bool first = true; !rest.empty() || first; first = false) {
        const size_t comma = rest.find(',');
        if (!first) key += ',';
        key += trim(rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      auto at = row_of_key.find(key);
      if (at == row_of_key.end()) {
        std::vector<std::string> parents;
        for (size_t p : node.parents) parents.push_back(shape.node(p).name);
        return fail(row_line, node.name,
                    node.parents.empty()
                        ? fmt::format("cpt row \"{}\": a node without parents has one row, keyed \"\"", raw)
                        : fmt::format("cpt row \"{}\" is not a combination of the parents' states ({}), e.g. \"{}\"",
                                      raw, fmt::join(parents, ", "), shape.row_key(v, 0)));
      }
      if (given[at->second]) {
        return fail(row_line, node.name,
                    fmt::format("cpt row \"{}\" given twice (first on line {})", key, given[at->second]));
      }
      given[at->second] = row_line;
      auto values = TOCSIN_TRY(row(it->second, row_line, node.name, key, width));
      std::copy(values.begin(), values.end(), cpt.begin() + static_cast<std::ptrdiff_t>(at->second * width));
    }
    for (size_t r = 0; r < rows; ++r) {
      if (!given[r]) {
        return fail(line, node.name,
                    fmt::format("cpt row \"{}\" is missing: every combination of the parents' states needs a row ({} "
                                "rows)",
                                shape.row_key(v, r), rows));
      }
    }
    return cpt;
  }

  BuildOptions options_;
  int nodes_line_ = 0;
  std::vector<std::optional<YAML::Node>> raw_cpts_;  // nullopt: no cpt given
  std::vector<int> cpt_lines_;
};

// yaml-cpp hands scalars back as written (yes/no stay strings), so only names with characters
// outside [A-Za-z0-9_.-] need quotes.
bool plain(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      // A control character written as itself does not read back (a line break inside the
      // quotes folds into a space; found by fuzz/bayesnet_fuzz.cc), so it is escaped.
      out += fmt::format("\\x{:02x}", byte);
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string quote(std::string_view s) { return plain(s) ? std::string(s) : double_quoted(s); }

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quote(items[i]);
  return out + "]";
}

}  // namespace

core::Result<Network> parse_network_yaml(std::string_view text, const BuildOptions& options) {
  return Parser(options).parse(text);
}

core::Result<Network> load_network(const std::filesystem::path& path, BuildOptions options) {
  if (options.file.empty()) options.file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Error::not_found(fmt::format("{}: cannot open the file", path.string())));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_network_yaml(text.str(), options);
}

std::string to_yaml(const Network& network, std::string_view comment) {
  std::string out;
  std::string_view rest = comment;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    out += fmt::format("# {}\n", rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  out += "nodes:\n";
  for (size_t v = 0; v < network.size(); ++v) {
    const Node& node = network.node(v);
    out += fmt::format("  - name: {}\n    states: {}\n", quote(node.name), list(node.states));
    if (!node.parents.empty()) {
      std::vector<std::string> parents;
      for (size_t p : node.parents) parents.push_back(network.node(p).name);
      out += fmt::format("    parents: {}\n", list(parents));
    }
    if (node.cpt.empty()) continue;
    out += "    cpt:\n";
    const size_t width = node.states.size();
    for (size_t r = 0; r < network.row_count(v); ++r) {
      std::string row;
      for (size_t s = 0; s < width; ++s) row += fmt::format("{}{}", s ? ", " : "", node.cpt[r * width + s]);
      out += fmt::format("      {}: [{}]\n", double_quoted(network.row_key(v, r)), row);
    }
  }
  return out;
}

}  // namespace tocsin::bayesnet
