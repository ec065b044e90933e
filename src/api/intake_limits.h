// The per-request limits of `limits:` (docs/configuration.md#limits) as the intake routes apply
// them: labels per series, label name and value length, series / alerts / events per request,
// matchers per silence. Each check returns the violation — which limit, a message naming the
// element's index, the value and the limit, and the field path — or nullopt. The routes check a
// whole request before handing any of it on, so a request over a limit changes nothing.
//
// The checks are comparisons of sizes the parsers already know: no allocation unless a limit is
// exceeded. Rejections are counted in tocsin_limits_rejected_total{limit}.
// Thread-safety: const methods may be called from any thread (the counters are atomic).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/labels.h"
#include "core/metrics.h"

namespace tocsin::api {

struct LimitViolation {
  std::string limit;    // the key under `limits:`, e.g. "max_labels_per_series"
  std::string message;  // "series 3 has 65 labels: limits.max_labels_per_series is 64"
  std::string field;    // "[3].labels"
};

// How an element of a request is named in messages and field paths: {"series", ""} gives
// "series 3" and "[3].labels"; {"alert", "alerts"} gives "alert 3" and "alerts[3].labels".
struct Element {
  std::string_view noun;
  std::string_view path;
};

class IntakeLimits {
 public:
  IntakeLimits(const config::LimitsConfig& limits, core::MetricsRegistry& metrics);

  const config::LimitsConfig& config() const { return limits_; }

  // The label set of element `index`; `added` counts labels the server adds to it (an event
  // series' kind and __name__).
  std::optional<LimitViolation> labels(const core::Labels& labels, Element element, size_t index,
                                       size_t added = 0) const;
  // One label value of element `index` held apart from its label set (an event's kind).
  std::optional<LimitViolation> label_value(std::string_view name, std::string_view value, Element element,
                                            size_t index) const;
  // n elements in one request, against max_series_per_request / max_alerts_per_request /
  // max_events_per_request / max_silence_matchers (`limit` names which); `what` follows the
  // number in the message ("series in one request", "matchers in one silence").
  std::optional<LimitViolation> count(std::string_view limit, size_t n, std::string_view what,
                                      std::string_view field) const;

  // Counts a rejection in tocsin_limits_rejected_total{limit}.
  void reject(const LimitViolation& v) const;

 private:
  config::LimitsConfig limits_;
  std::map<std::string, core::Counter*, std::less<>> rejected_;
};

}  // namespace tocsin::api
