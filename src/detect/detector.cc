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

core::Result<std::optional<double>> ParamReader::number(std::string_view name) {
  read_.emplace_back(name);
  auto it = config_.params.find(std::string(name));
  if (it == config_.params.end()) return std::optional<double>{};
  if (!it->second.number) {
    return std::unexpected(error_at(name, fmt::format("expected a number, got \"{}\"", it->second.text)));
  }
  return it->second.number;
}

core::Status ParamReader::reject_unknown(std::string_view allowed) const {
  for (const auto& [name, param] : config_.params) {
    if (std::find(read_.begin(), read_.end(), name) == read_.end()) {
      return std::unexpected(error_at(name, fmt::format("unknown parameter for detector \"{}\": expected {}",
                                                        config_.kind, allowed)));
    }
  }
  return {};
}

core::Error ParamReader::error_at(std::string_view name, std::string message) const {
  auto it = config_.params.find(std::string(name));
  const core::Position pos = it != config_.params.end() ? it->second.pos : config_.pos;
  return core::Error::invalid_argument(std::move(message)).at(pos).field(fmt::format("detector.{}", name));
}

}  // namespace tocsin::detect
