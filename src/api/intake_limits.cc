#include "api/intake_limits.h"

#include <fmt/format.h>

namespace tocsin::api {

namespace {

constexpr std::string_view kLimitNames[] = {
    "max_labels_per_series",  "max_label_name_bytes",   "max_label_value_bytes", "max_series_per_request",
    "max_alerts_per_request", "max_events_per_request", "max_silence_matchers"};

// A long name quoted in a message is cut: the message must not echo a megabyte back.
std::string shown_name(std::string_view text) {
  constexpr size_t kShown = 64;
  if (text.size() <= kShown) return fmt::format("\"{}\"", text);
  return fmt::format("\"{}…\"", text.substr(0, kShown));
}

std::string path_of(Element e, size_t index, std::string_view rest) {
  return fmt::format("{}[{}]{}", e.path, index, rest);
}

}  // namespace

IntakeLimits::IntakeLimits(const config::LimitsConfig& limits, core::MetricsRegistry& metrics) : limits_(limits) {
  for (std::string_view name : kLimitNames) {
    rejected_.emplace(std::string(name), &metrics.counter("tocsin_limits_rejected_total",
                                                          "Requests refused whole because they were over a limit.",
                                                          {{"limit", std::string(name)}}));
  }
}

std::optional<LimitViolation> IntakeLimits::labels(const core::Labels& labels, Element element, size_t index,
                                                   size_t added) const {
  const size_t max_labels = static_cast<size_t>(limits_.max_labels_per_series);
  const size_t max_name = static_cast<size_t>(limits_.max_label_name_bytes);
  const size_t max_value = static_cast<size_t>(limits_.max_label_value_bytes);
  if (labels.size() + added > max_labels) {
    return LimitViolation{"max_labels_per_series",
                          fmt::format("{} {} has {} labels: limits.max_labels_per_series is {}", element.noun, index,
                                      labels.size() + added, max_labels),
                          path_of(element, index, ".labels")};
  }
  for (const core::Label& l : labels) {
    if (l.name.size() > max_name) {
      return LimitViolation{"max_label_name_bytes",
                            fmt::format("{} {}: label name {} is {} bytes long: limits.max_label_name_bytes is {}",
                                        element.noun, index, shown_name(l.name), l.name.size(), max_name),
                            path_of(element, index, ".labels")};
    }
    if (l.value.size() > max_value) {
      return LimitViolation{
          "max_label_value_bytes",
          fmt::format("{} {}: the value of label {} is {} bytes long: limits.max_label_value_bytes is {}", element.noun,
                      index, shown_name(l.name), l.value.size(), max_value),
          path_of(element, index, fmt::format(".labels.{}", l.name))};
    }
  }
  return std::nullopt;
}

std::optional<LimitViolation> IntakeLimits::label_value(std::string_view name, std::string_view value, Element element,
                                                        size_t index) const {
  const size_t max_value = static_cast<size_t>(limits_.max_label_value_bytes);
  if (value.size() <= max_value) return std::nullopt;
  return LimitViolation{"max_label_value_bytes",
                        fmt::format("{} {}: {} is {} bytes long: limits.max_label_value_bytes is {}", element.noun,
                                    index, name, value.size(), max_value),
                        path_of(element, index, fmt::format(".{}", name))};
}

std::optional<LimitViolation> IntakeLimits::count(std::string_view limit, size_t n, std::string_view what,
                                                  std::string_view field) const {
  int max = 0;
  if (limit == "max_series_per_request") max = limits_.max_series_per_request;
  if (limit == "max_alerts_per_request") max = limits_.max_alerts_per_request;
  if (limit == "max_events_per_request") max = limits_.max_events_per_request;
  if (limit == "max_silence_matchers") max = limits_.max_silence_matchers;
  if (n <= static_cast<size_t>(max)) return std::nullopt;
  return LimitViolation{std::string(limit),
                        fmt::format("{} {}: limits.{} is {}; the request was refused whole", n, what, limit, max),
                        std::string(field)};
}

void IntakeLimits::reject(const LimitViolation& v) const {
  if (auto it = rejected_.find(v.limit); it != rejected_.end()) it->second->inc();
}

}  // namespace tocsin::api
