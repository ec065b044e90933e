// The YAML form of a Bayesian network (docs/bayes.md has the full description):
//
//   nodes:
//     - {name: network_attack, states: [yes, no], cpt: [0.05, 0.95]}
//     - name: system_crash
//       states: [yes, no]
//       parents: [network_attack, data_leak]
//       cpt:                  # one row per parent combination "state,state" (parents' order)
//         "yes,yes": [0.9, 0.1]
//         …
//
// A node without parents may give its one row as a plain list or under the key "". Every parent
// combination must appear exactly once. Errors are "FILE:LINE: node "X": what was expected".
// Thread-safety: free functions without shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "bayesnet/network.h"
#include "core/result.h"

namespace tocsin::bayesnet {

// `options.file` names the input in errors.
core::Result<Network> parse_network_yaml(std::string_view text, const BuildOptions& options);
// Reads and parses a file; `options.file` is set to `path` when empty.
core::Result<Network> load_network(const std::filesystem::path& path, BuildOptions options = {});

// Writes `network` in the YAML form above; `comment` (may be several lines) goes on top as
// "# " lines. Probabilities are written in the shortest form that reads back exactly.
std::string to_yaml(const Network& network, std::string_view comment = {});

}  // namespace tocsin::bayesnet
