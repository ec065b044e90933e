// Events (POST /api/v1/events): user-feedback reports and security events, turned into series a
// rule can watch. The body is a JSON array:
//
//   [{"type": "user_feedback", "kind": "checkout_failed", "labels": {"service": "shop"},
//     "count": 1, "ts": 1796400000000}]
//
// `type` ("user_feedback" or "security") and `kind` (a non-empty string) are required; `labels`
// (string values, valid names, not `kind` or `__name__`), `count` (integer 1..1000000, default 1)
// and `ts` (Unix ms, default now) are optional; other keys are an error. A whole body is accepted
// or rejected, the first bad element named by its field path ("[2].count").
//
// Each (type, kind, labels) is one event series with two samples per update, both labelled
// `kind` plus the event's labels:
//   user_feedback_reports{…} / security_events{…}   events in the trailing window (default 5 min,
//        in 10 s buckets) as of the event — a gauge, so a surge of reports is a jump in value
//        that a threshold or `auto` rule sees directly, with no rate() needed;
//   user_feedback_reports_total{…} / security_events_total{…}   the running count since start.
// A series' samples never go back in time: a late event is counted (in the window too, if it
// falls inside it) and reported at the series' latest time. Events of one request are applied in
// time order and events at the same time coalesce into one sample. The counts live in memory
// and start again from zero after a restart (a counter reset, as Prometheus counters do).
//
// Thread-safety: parse_events_json is a pure function; EventCounters may be used from any thread
// (record() holds a lock, also while it calls the sink).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/sample.h"

namespace tocsin::ingest {

enum class EventType { kUserFeedback, kSecurity };
std::string_view to_string(EventType type);

struct Event {
  EventType type = EventType::kUserFeedback;
  std::string kind;
  core::Labels labels;  // without kind
  uint64_t count = 1;
  core::Timestamp ts{};
};

inline constexpr uint64_t kMaxEventCount = 1'000'000;

core::Result<std::vector<Event>> parse_events_json(std::string_view body, core::Timestamp now);

struct EventCountersOptions {
  core::Duration window = std::chrono::minutes(5);
  size_t max_series = 10'000;  // a request that would create more distinct series is rejected
};

class EventCounters {
 public:
  // The window is divided into kBuckets buckets; window must be a positive multiple of kBuckets ms.
  static constexpr size_t kBuckets = 30;

  explicit EventCounters(EventCountersOptions options = {});

  // Turns `events` into samples and hands them to `sink` (e.g. the engine). The counts advance
  // only when the sink succeeds, so a request that fails downstream changes nothing. Returns
  // the samples given to the sink.
  core::Result<std::vector<core::Sample>> record(
      const std::vector<Event>& events, const std::function<core::Status(const std::vector<core::Sample>&)>& sink);

  size_t series_count() const;

 private:
  struct SeriesState {
    uint64_t total = 0;
    core::Timestamp last_ts{};
    int64_t head = 0;  // absolute bucket number (ts / bucket width) of the newest bucket
    std::array<uint64_t, kBuckets> buckets{};
    bool seen = false;
    uint64_t window_sum() const;
    void add(int64_t bucket, uint64_t count);
  };

  EventCountersOptions options_;
  int64_t bucket_ms_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, SeriesState> series_;  // by the window series' label text
};

}  // namespace tocsin::ingest
