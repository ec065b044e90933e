#include "detect/param_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/duration.h"

namespace tocsin::detect {

const config::DetectorParam* ParamReader::find(std::string_view name) {
  read_.emplace_back(name);
  auto it = config_.params.find(std::string(name));
  return it == config_.params.end() ? nullptr : &it->second;
}

core::Result<std::optional<double>> ParamReader::number(std::string_view name) {
  const config::DetectorParam* p = find(name);
  if (!p) return std::optional<double>{};
  if (!p->number || !std::isfinite(*p->number)) {
    return std::unexpected(error_at(name, fmt::format("expected a number, got \"{}\"", p->text)));
  }
  return p->number;
}

core::Result<std::optional<double>> ParamReader::number_in(std::string_view name, double lo, double hi) {
  const auto v = TOCSIN_TRY(number(name));
  if (v && (*v < lo || *v > hi)) {
    const std::string range = std::isinf(hi) ? fmt::format("a number ≥ {}", lo) : fmt::format("{} to {}", lo, hi);
    return std::unexpected(error_at(name, fmt::format("{} is out of range: expected {}", *v, range)));
  }
  return v;
}

core::Result<std::optional<int64_t>> ParamReader::integer(std::string_view name, int64_t lo, int64_t hi) {
  const auto v = TOCSIN_TRY(number(name));
  if (!v) return std::optional<int64_t>{};
  if (*v != std::floor(*v)) {
    return std::unexpected(error_at(name, fmt::format("expected a whole number, got {}", *v)));
  }
  if (*v < static_cast<double>(lo) || *v > static_cast<double>(hi)) {
    return std::unexpected(error_at(name, fmt::format("{} is out of range: expected {} to {}", *v, lo, hi)));
  }
  return static_cast<int64_t>(*v);
}

core::Result<std::optional<core::Duration>> ParamReader::duration(std::string_view name) {
  const config::DetectorParam* p = find(name);
  if (!p) return std::optional<core::Duration>{};
  auto d = core::parse_duration(p->text);
  if (!d) {
    return std::unexpected(error_at(name, fmt::format("expected a duration such as 30s, 5m or 1h, got \"{}\"", p->text)));
  }
  return std::optional<core::Duration>(*d);
}

core::Result<std::optional<std::string>> ParamReader::word(std::string_view name,
                                                           std::initializer_list<std::string_view> words) {
  const config::DetectorParam* p = find(name);
  if (!p) return std::optional<std::string>{};
  if (std::find(words.begin(), words.end(), p->text) == words.end()) {
    return std::unexpected(error_at(name, fmt::format("bad value \"{}\": expected one of {}", p->text, fmt::join(words, ", "))));
  }
  return std::optional<std::string>(p->text);
}

core::Result<std::optional<bool>> ParamReader::boolean(std::string_view name) {
  const config::DetectorParam* p = find(name);
  if (!p) return std::optional<bool>{};
  if (p->text == "true") return std::optional<bool>(true);
  if (p->text == "false") return std::optional<bool>(false);
  return std::unexpected(error_at(name, fmt::format("expected true or false, got \"{}\"", p->text)));
}

core::Status ParamReader::reject_unknown() const {
  for (const auto& [name, param] : config_.params) {
    if (std::find(read_.begin(), read_.end(), name) == read_.end()) {
      return std::unexpected(error_at(name, fmt::format("unknown parameter for detector \"{}\": expected {}", config_.kind,
                                                        fmt::join(read_, ", "))));
    }
  }
  return {};
}

core::Error ParamReader::error_at(std::string_view name, std::string message) const {
  auto it = config_.params.find(std::string(name));
  const core::Position pos = it != config_.params.end() ? it->second.pos : config_.pos;
  return core::Error::invalid_argument(std::move(message)).at(pos).field(fmt::format("detector.{}", name));
}

core::Error ParamReader::error(std::string message) const {
  return core::Error::invalid_argument(std::move(message)).at(config_.pos).field("detector");
}

}  // namespace tocsin::detect
