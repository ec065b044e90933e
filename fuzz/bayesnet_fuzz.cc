// Fuzz target: Bayesian networks in their YAML form (bayesnet::parse_network_yaml). Parsing must
// not crash or throw; a network it accepts, written back with to_yaml, reads back the same
// (to_yaml promises probabilities in the shortest form that reads back exactly).
#include "bayesnet/yaml_format.h"
#include "fuzz_check.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tocsin::bayesnet::BuildOptions options;
  options.file = "net.yaml";
  auto network = tocsin::bayesnet::parse_network_yaml(tocsin::fuzz::as_text(data, size), options);
  if (!network) {
    check(!network.error().message().empty());
    return 0;
  }
  auto again = tocsin::bayesnet::parse_network_yaml(tocsin::bayesnet::to_yaml(*network), options);
  check(again.has_value() && again->nodes().size() == network->nodes().size());
  for (size_t i = 0; i < network->nodes().size(); ++i) {
    const auto& a = network->nodes()[i];
    const auto& b = again->nodes()[i];
    check(a.name == b.name && a.states == b.states && a.parents == b.parents && a.cpt == b.cpt);
  }
  return 0;
}
