#include "detect/detector.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "detect/builtin.h"

namespace tocsin::detect {

void DetectorRegistry::add(std::string kind, DetectorFactory factory) { factories_[std::move(kind)] = std::move(factory); }

core::Result<std::unique_ptr<DetectorSpec>> DetectorRegistry::create(const config::DetectorConfig& config) const {
  auto it = factories_.find(config.kind);
  if (it == factories_.end()) {
    return std::unexpected(core::Error::invalid_argument(
                               fmt::format("detector kind \"{}\" is not implemented yet (available: {})", config.kind,
                                           fmt::join(kinds(), ", ")))
                               .at(config.pos)
                               .field("detector.kind"));
  }
  return it->second(config);
}

const DetectorRegistry& DetectorRegistry::builtin() {
  static const DetectorRegistry registry = [] {
    DetectorRegistry r;
    register_basic_detectors(r);
    register_advanced_detectors(r);
    return r;
  }();
  return registry;
}

std::vector<std::string> DetectorRegistry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, factory] : factories_) out.push_back(kind);
  return out;
}

}  // namespace tocsin::detect
