#include "bayesnet/learn.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/csv.h"

namespace tocsin::bayesnet {
namespace {

using core::Error;

using core::split_csv;

std::string_view trim(std::string_view s) { return core::trim_blanks(s); }

// The texts that mean "not observed" (as in risk/table.h), when they are not a state of the node.
bool is_missing_marker(std::string_view v) {
  return v.empty() || v == "?" || v == "NA" || v == "NaN" || v == "nan" || v == "null";
}

constexpr size_t kMissing = static_cast<size_t>(-1);

}  // namespace

core::Result<Learned> learn_cpts(const Network& structure, std::istream& csv, const LearnOptions& options) {
  const std::string name = options.data_name.empty() ? "data" : options.data_name;
  auto fail = [&](size_t line, std::string message) {
    return std::unexpected(Error::invalid_argument(std::move(message)).at({name, static_cast<int>(line), 0}));
  };
  if (!(options.alpha >= 0) || !std::isfinite(options.alpha)) {
    return std::unexpected(Error::invalid_argument(fmt::format("alpha is {}; expected a number >= 0", options.alpha)));
  }
  std::string line;
  size_t line_no = 0;
  std::vector<std::string> header;
  while (std::getline(csv, line)) {
    ++line_no;
    if (!trim(line).empty()) {
      header = split_csv(line);
      break;
    }
  }
  if (header.empty()) return fail(line_no, "no header line: expected the column names");
  const size_t n = structure.size();
  std::vector<size_t> column(n);
  for (size_t v = 0; v < n; ++v) {
    const auto& node_name = structure.node(v).name;
    auto it = std::find(header.begin(), header.end(), node_name);
    if (it == header.end()) {
      return fail(line_no, fmt::format("no column \"{}\" for node \"{}\"; the columns are: {}", node_name, node_name,
                                       fmt::join(header, ", ")));
    }
    column[v] = static_cast<size_t>(it - header.begin());
  }
  // State lookup per node.
  std::vector<std::map<std::string, size_t, std::less<>>> state_index(n);
  for (size_t v = 0; v < n; ++v) {
    for (size_t s = 0; s < structure.node(v).states.size(); ++s) state_index[v].emplace(structure.node(v).states[s], s);
  }
  Counts counts;
  counts.counts.resize(n);
  for (size_t v = 0; v < n; ++v) counts.counts[v].assign(structure.row_count(v) * structure.node(v).states.size(), 0.0);
  counts.rows_used.assign(n, 0);
  std::vector<size_t> assignment(n);
  while (std::getline(csv, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const auto fields = split_csv(line);
    if (fields.size() != header.size()) {
      return fail(line_no, fmt::format("{} fields, expected {} (as in the header)", fields.size(), header.size()));
    }
    for (size_t v = 0; v < n; ++v) {
      const std::string& value = fields[column[v]];
      auto it = state_index[v].find(value);
      if (it == state_index[v].end() && is_missing_marker(value)) {
        assignment[v] = kMissing;
        continue;
      }
      if (it == state_index[v].end()) {
        return fail(line_no, fmt::format("column \"{}\": \"{}\" is not a state of node \"{}\"; its states are: {}",
                                         structure.node(v).name, value, structure.node(v).name,
                                         fmt::join(structure.node(v).states, ", ")));
      }
      assignment[v] = it->second;
    }
    bool any_missing = false;
    for (size_t v = 0; v < n; ++v) {
      bool family_observed = assignment[v] != kMissing;
      for (size_t p : structure.node(v).parents) family_observed = family_observed && assignment[p] != kMissing;
      any_missing = any_missing || assignment[v] == kMissing;
      if (!family_observed) continue;
      const size_t width = structure.node(v).states.size();
      counts.counts[v][structure.row_of(v, assignment) * width + assignment[v]] += 1;
      ++counts.rows_used[v];
    }
    ++counts.rows;
    if (any_missing) ++counts.rows_with_missing;
  }
  auto specs = structure.specs();
  for (size_t v = 0; v < n; ++v) {
    const size_t width = structure.node(v).states.size();
    auto& cpt = specs[v].cpt;
    cpt.assign(counts.counts[v].size(), 0.0);
    for (size_t r = 0; r < structure.row_count(v); ++r) {
      double total = 0;
      for (size_t s = 0; s < width; ++s) total += counts.counts[v][r * width + s] + options.alpha;
      for (size_t s = 0; s < width; ++s) {
        cpt[r * width + s] = total > 0 ? (counts.counts[v][r * width + s] + options.alpha) / total
                                       : 1.0 / static_cast<double>(width);
      }
    }
  }
  BuildOptions build;
  build.file = structure.file();
  auto network = TOCSIN_TRY(Network::build(std::move(specs), build));
  return Learned{std::move(network), std::move(counts)};
}

}  // namespace tocsin::bayesnet
