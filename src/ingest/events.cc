#include "ingest/events.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

namespace tocsin::ingest {

using core::Error;
using nlohmann::json;

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::kUserFeedback: return "user_feedback";
    case EventType::kSecurity: return "security";
  }
  return "unknown";
}

namespace {

std::string_view window_metric(EventType type) {
  return type == EventType::kUserFeedback ? "user_feedback_reports" : "security_events";
}

core::Result<Event> parse_one(const json& item, size_t i, core::Timestamp now) {
  auto bad = [&](std::string_view field, std::string message) {
    return std::unexpected(Error::invalid_argument(std::move(message)).field(fmt::format("[{}]{}", i, field)));
  };
  if (!item.is_object()) return bad("", "expected an object with type, kind, labels, count, ts");
  Event e;
  e.ts = now;
  bool has_type = false;
  bool has_kind = false;
  for (const auto& [key, value] : item.items()) {
    if (key == "type") {
      if (!value.is_string()) return bad(".type", "expected \"user_feedback\" or \"security\"");
      const auto& type = value.get_ref<const std::string&>();
      if (type == "user_feedback") {
        e.type = EventType::kUserFeedback;
      } else if (type == "security") {
        e.type = EventType::kSecurity;
      } else {
        return bad(".type", fmt::format("unknown event type \"{}\": expected \"user_feedback\" or \"security\"", type));
      }
      has_type = true;
    } else if (key == "kind") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return bad(".kind", "expected a non-empty string");
      }
      e.kind = value.get<std::string>();
      has_kind = true;
    } else if (key == "labels") {
      if (!value.is_object()) return bad(".labels", "expected an object of string values");
      for (const auto& [lname, lvalue] : value.items()) {
        if (!core::is_valid_label_name(lname)) {
          return bad(".labels", fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*", lname));
        }
        if (lname == "__name__" || lname == "kind") {
          return bad(".labels", fmt::format("label name \"{}\" is reserved (set by the event)", lname));
        }
        if (!lvalue.is_string()) return bad(fmt::format(".labels.{}", lname), "expected a string");
        e.labels.set(lname, lvalue.get_ref<const std::string&>());
      }
    } else if (key == "count") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<uint64_t>() > kMaxEventCount) {
        return bad(".count", fmt::format("expected an integer from 1 to {}", kMaxEventCount));
      }
      e.count = value.get<uint64_t>();
    } else if (key == "ts") {
      if (!value.is_number_integer()) return bad(".ts", "expected an integer (Unix time in milliseconds)");
      e.ts = core::from_unix_ms(value.get<int64_t>());
    } else {
      return bad("", fmt::format("unknown key \"{}\": expected type, kind, labels, count, ts", key));
    }
  }
  if (!has_type) return bad(".type", "missing: expected \"user_feedback\" or \"security\"");
  if (!has_kind) return bad(".kind", "missing: every event needs a kind");
  return e;
}

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

size_t ring_index(int64_t bucket) {
  const auto n = static_cast<int64_t>(EventCounters::kBuckets);
  return static_cast<size_t>(((bucket % n) + n) % n);
}

}  // namespace

core::Result<std::vector<Event>> parse_events_json(std::string_view body, core::Timestamp now) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected(Error::invalid_argument("malformed JSON"));
  if (!doc.is_array()) return std::unexpected(Error::invalid_argument("expected a JSON array of events"));
  std::vector<Event> out;
  out.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) out.push_back(TOCSIN_TRY(parse_one(doc[i], i, now)));
  return out;
}

uint64_t EventCounters::SeriesState::window_sum() const {
  return std::accumulate(buckets.begin(), buckets.end(), uint64_t{0});
}

void EventCounters::SeriesState::add(int64_t bucket, uint64_t count) {
  constexpr auto n = static_cast<int64_t>(kBuckets);
  if (bucket > head) {
    // Buckets between the old head and the new one have had no events: clear them.
    if (bucket - head >= n) {
      buckets.fill(0);
    } else {
      for (int64_t b = head + 1; b <= bucket; ++b) buckets[ring_index(b)] = 0;
    }
    head = bucket;
  }
  if (bucket <= head - n) return;  // older than the window: in the total only
  buckets[ring_index(bucket)] += count;
}

EventCounters::EventCounters(EventCountersOptions options)
    : options_(options), bucket_ms_(options.window.count() / static_cast<int64_t>(kBuckets)) {
  assert(bucket_ms_ > 0 && options.window.count() % static_cast<int64_t>(kBuckets) == 0 &&
         "EventCounters window must be a positive multiple of kBuckets milliseconds");
}

size_t EventCounters::series_count() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

core::Result<std::vector<core::Sample>> EventCounters::record(
    const std::vector<Event>& events, const std::function<core::Status(const std::vector<core::Sample>&)>& sink) {
  std::lock_guard lock(mu_);
  // Time order, so a backfilled batch produces samples that move forward in time.
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return events[a].ts < events[b].ts; });

  // Changes are staged on copies and committed only after the sink succeeds.
  std::unordered_map<std::string, SeriesState> staged;
  std::unordered_map<std::string, size_t> emitted;  // key -> index of its window sample in `out`
  size_t new_series = 0;
  std::vector<core::Sample> out;
  for (size_t i : order) {
    const Event& e = events[i];
    core::Labels labels = e.labels;
    labels.set("kind", e.kind);
    labels.set("__name__", window_metric(e.type));
    std::string key = labels.to_string();
    auto it = staged.find(key);
    if (it == staged.end()) {
      auto known = series_.find(key);
      if (known == series_.end() && series_.size() + ++new_series > options_.max_series) {
        return std::unexpected(Error::invalid_argument(
            fmt::format("too many distinct event series: the limit is {} (type, kind, labels) combinations",
                        options_.max_series)));
      }
      it = staged.emplace(key, known == series_.end() ? SeriesState{} : known->second).first;
    }
    SeriesState& s = it->second;
    const int64_t bucket = floor_div(core::to_unix_ms(e.ts), bucket_ms_);
    if (!s.seen) s.head = bucket;
    s.add(bucket, e.count);
    s.total += e.count;
    s.last_ts = s.seen ? std::max(s.last_ts, e.ts) : e.ts;
    s.seen = true;

    const auto window = static_cast<double>(s.window_sum());
    const auto total = static_cast<double>(s.total);
    auto at = emitted.find(key);
    if (at != emitted.end() && out[at->second].ts == s.last_ts) {
      out[at->second].value = window;
      out[at->second + 1].value = total;
      continue;
    }
    core::Labels total_labels = labels;
    total_labels.set("__name__", fmt::format("{}_total", window_metric(e.type)));
    emitted[key] = out.size();
    out.push_back(core::Sample{std::move(labels), window, s.last_ts});
    out.push_back(core::Sample{std::move(total_labels), total, s.last_ts});
  }
  TOCSIN_RETURN_IF_ERROR(sink(out));
  for (auto& [key, state] : staged) series_.insert_or_assign(key, std::move(state));
  return out;
}

}  // namespace tocsin::ingest
