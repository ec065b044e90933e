#include "oncall/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

namespace tocsin::oncall {

namespace {

using std::chrono::days;
using std::chrono::local_seconds;

constexpr std::size_t kMaxHandoffsPerQuery = 100'000;
constexpr int64_t kSecondsPerDay = 86'400;

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// One layer's rotation with its first hand-off resolved, so the shift at an instant is computed
// arithmetically rather than by walking hand-offs from the start.
class LayerClock {
 public:
  static core::Result<LayerClock> make(const config::Schedule& s, std::size_t index, const TimeZone& tz) {
    const config::Layer& layer = s.layers[index];
    LayerClock c(layer, tz, fmt::format("layer {}", index + 1));
    std::chrono::local_days first_day = layer.start;
    switch (layer.rotation) {
      case config::Rotation::kWeekly:
        // weekday difference is always in [0, 6] days: the first hand-off day at or after start.
        first_day += layer.handoff_day - std::chrono::weekday(layer.start);
        c.period_days_ = 7;
        break;
      case config::Rotation::kDaily:
        c.period_days_ = 1;
        break;
      case config::Rotation::kCustom:
        if (layer.shift_length <= core::Duration::zero()) {
          return std::unexpected(
              core::Error::invalid_argument(fmt::format("schedule '{}' {}: a custom rotation needs a positive shift length",
                                                        s.id, c.source_))
                  .at(layer.pos));
        }
        // Whole days hand off at wall-clock time like daily and weekly; anything else is elapsed time.
        if (layer.shift_length % days(1) == core::Duration::zero()) {
          c.period_days_ = layer.shift_length / days(1);
        } else {
          c.period_ = layer.shift_length;
        }
        break;
    }
    c.first_local_ = local_seconds(first_day) + layer.handoff_time;
    c.first_utc_ = tz.to_utc(c.first_local_);
    return c;
  }

  const std::string& source() const { return source_; }

  // The instant shift n starts (n may be negative: hand-offs before the rotation started).
  core::Timestamp handoff(int64_t n) const {
    if (period_days_ > 0) return tz_.to_utc(first_local_ + days(n * period_days_));
    return first_utc_ + n * period_;
  }

  // n with handoff(n) <= t < handoff(n + 1); negative before the first shift.
  int64_t shift_at(core::Timestamp t) const {
    if (period_days_ == 0) return floor_div((t - first_utc_).count(), period_.count());
    // The local-time estimate is off by at most one shift around a DST change; the hand-off
    // instants settle it.
    int64_t n = floor_div((tz_.to_local_seconds(t) - first_local_).count(), period_days_ * kSecondsPerDay);
    while (handoff(n) > t) --n;
    while (handoff(n + 1) <= t) ++n;
    return n;
  }

  std::size_t member_count() const { return layer_->members.size(); }
  // Every shift goes to the same person (one member, or the same one listed several times).
  bool single_person() const {
    const auto& m = layer_->members;
    return !m.empty() && std::all_of(m.begin(), m.end(), [&](const std::string& p) { return p == m.front(); });
  }

  // The person on call in shift n; nullptr before the first shift or for a layer without members.
  const std::string* person(int64_t n) const {
    if (n < 0 || layer_->members.empty()) return nullptr;
    const auto size = static_cast<int64_t>(layer_->members.size());
    return &layer_->members[static_cast<std::size_t>(n % size)];
  }

 private:
  LayerClock(const config::Layer& layer, const TimeZone& tz, std::string source)
      : layer_(&layer), tz_(tz), source_(std::move(source)) {}

  const config::Layer* layer_;
  TimeZone tz_;
  std::string source_;
  local_seconds first_local_{};
  core::Timestamp first_utc_{};
  int64_t period_days_ = 0;    // > 0: hand-offs every this many local days
  core::Duration period_{};    // else: hand-offs every this much elapsed time
};

struct OverrideSpan {
  const std::string* person;
  core::Timestamp from;
  core::Timestamp to;
};

struct Cover {
  std::vector<std::string> people;
  std::string source;
};

// A schedule with its layers and overrides turned into instants; borrows from the Schedule.
struct Resolver {
  std::vector<LayerClock> layers;
  std::vector<OverrideSpan> overrides;

  static core::Result<Resolver> make(const config::Schedule& s, const TimeZone& tz) {
    Resolver r;
    r.layers.reserve(s.layers.size());
    for (std::size_t i = 0; i < s.layers.size(); ++i) {
      auto layer = LayerClock::make(s, i, tz);
      if (!layer) return std::unexpected(std::move(layer).error());
      r.layers.push_back(std::move(*layer));
    }
    r.overrides.reserve(s.overrides.size());
    for (const config::Override& o : s.overrides) {
      r.overrides.push_back({&o.person, tz.to_utc(o.from), tz.to_utc(o.to)});
    }
    return r;
  }

  Cover at(core::Timestamp t) const {
    Cover c;
    for (const OverrideSpan& o : overrides) {
      if (o.from <= t && t < o.to && std::find(c.people.begin(), c.people.end(), *o.person) == c.people.end()) {
        c.people.push_back(*o.person);
      }
    }
    if (!c.people.empty()) {
      c.source = "override";
      return c;
    }
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
      if (const std::string* p = it->person(it->shift_at(t))) return Cover{{*p}, it->source()};
    }
    return c;
  }

  // at(t) with each person's shift bounds (see CurrentShifts).
  std::vector<Shift> current(core::Timestamp t) const {
    std::vector<Shift> out;
    for (const OverrideSpan& o : overrides) {
      const bool listed = std::any_of(out.begin(), out.end(), [&](const Shift& x) { return x.person == *o.person; });
      if (o.from <= t && t < o.to && !listed) out.push_back(Shift{*o.person, o.from, o.to, "override"});
    }
    if (!out.empty()) return out;
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
      const int64_t n = it->shift_at(t);
      if (const std::string* p = it->person(n)) return {Shift{*p, it->handoff(n), it->handoff(n + 1), it->source()}};
    }
    return out;
  }

  // The first cut (hand-off or override edge) after t at which at() differs from at(t).
  std::optional<core::Timestamp> next_change(core::Timestamp t) const {
    const Cover before = at(t);
    std::vector<core::Timestamp> edges;
    for (const OverrideSpan& o : overrides) {
      if (o.from > t) edges.push_back(o.from);
      if (o.to > t) edges.push_back(o.to);
    }
    std::sort(edges.begin(), edges.end());
    std::size_t next_edge = 0;

    struct Pending {
      const LayerClock* layer;
      int64_t n;  // the layer's next hand-off after the cursor is handoff(n)
      core::Timestamp at;
    };
    std::vector<Pending> pending;
    for (const LayerClock& layer : layers) {
      if (layer.member_count() == 0) continue;  // never covers anyone
      const int64_t n = std::max<int64_t>(layer.shift_at(t) + 1, 0);
      // After its first shift, a one-person layer hands off to the same person: nothing changes.
      if (layer.single_person() && n > 0) {
        pending.push_back({&layer, -1, {}});
        continue;
      }
      pending.push_back({&layer, n, layer.handoff(n)});
    }

    for (std::size_t step = 0; step < kMaxHandoffsPerQuery; ++step) {
      std::optional<core::Timestamp> cut;
      if (next_edge < edges.size()) cut = edges[next_edge];
      // A one-person layer that has started covers everything below it for good: the hand-offs
      // of lower layers cannot change the answer any more.
      std::size_t lowest_live = 0;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        if (pending[i].layer->single_person() && pending[i].n < 0) lowest_live = i;
      }
      for (std::size_t i = lowest_live; i < pending.size(); ++i) {
        if (pending[i].n >= 0 && (!cut || pending[i].at < *cut)) cut = pending[i].at;
      }
      if (!cut) return std::nullopt;
      while (next_edge < edges.size() && edges[next_edge] <= *cut) ++next_edge;
      for (std::size_t i = lowest_live; i < pending.size(); ++i) {
        Pending& p = pending[i];
        if (p.n < 0 || p.at > *cut) continue;
        if (p.layer->single_person()) {
          p.n = -1;
          continue;
        }
        while (p.at <= *cut) p.at = p.layer->handoff(++p.n);
      }
      const Cover after = at(*cut);
      if (after.people != before.people || after.source != before.source) return cut;
    }
    return std::nullopt;
  }
};

core::Result<TimeZone> schedule_zone(const config::Schedule& s) {
  auto tz = TimeZone::load(s.timezone);
  if (!tz) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("schedule '{}': {}", s.id, tz.error().message())).at(s.pos));
  }
  return tz;
}

}  // namespace

core::Result<std::vector<std::string>> on_call(const config::Schedule& s, const TimeZone& tz, core::Timestamp t) {
  auto resolver = Resolver::make(s, tz);
  if (!resolver) return std::unexpected(std::move(resolver).error());
  return resolver->at(t).people;
}

core::Result<std::vector<std::string>> on_call(const config::Schedule& s, core::Timestamp t) {
  auto tz = schedule_zone(s);
  if (!tz) return std::unexpected(std::move(tz).error());
  return on_call(s, *tz, t);
}

core::Result<std::vector<Shift>> shifts(const config::Schedule& s, const TimeZone& tz, core::Timestamp from,
                                        core::Timestamp to) {
  if (to < from) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("shifts of schedule '{}': the window ends ({}) before it starts ({})", s.id,
                    core::format_rfc3339(to), core::format_rfc3339(from))));
  }
  auto resolver = Resolver::make(s, tz);
  if (!resolver) return std::unexpected(std::move(resolver).error());

  // Who is on call can only change at a hand-off or an override edge; between two such cuts it is
  // constant, so resolving at each cut gives the whole timeline.
  std::vector<core::Timestamp> cuts{from};
  auto add_cut = [&](core::Timestamp c) {
    if (from < c && c < to) cuts.push_back(c);
  };
  for (const LayerClock& layer : resolver->layers) {
    for (int64_t n = std::max<int64_t>(layer.shift_at(from) + 1, 0);; ++n) {
      const core::Timestamp h = layer.handoff(n);
      if (h >= to) break;
      add_cut(h);
      if (cuts.size() > kMaxHandoffsPerQuery) {
        return std::unexpected(core::Error::invalid_argument(fmt::format(
            "shifts of schedule '{}': the window holds more than {} hand-offs", s.id, kMaxHandoffsPerQuery)));
      }
    }
  }
  for (const OverrideSpan& o : resolver->overrides) {
    add_cut(o.from);
    add_cut(o.to);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  cuts.push_back(to);

  std::vector<Shift> out;
  std::map<std::pair<std::string, std::string>, std::size_t> latest;  // (person, source) -> index in out
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const core::Timestamp start = cuts[i];
    const core::Timestamp end = cuts[i + 1];
    if (start == end) continue;
    Cover cover = resolver->at(start);
    for (std::string& person : cover.people) {
      auto key = std::pair{person, cover.source};
      if (const auto it = latest.find(key); it != latest.end() && out[it->second].end == start) {
        out[it->second].end = end;
        continue;
      }
      latest[std::move(key)] = out.size();
      out.push_back(Shift{std::move(person), start, end, cover.source});
    }
  }
  return out;
}

core::Result<std::vector<Shift>> shifts(const config::Schedule& s, core::Timestamp from, core::Timestamp to) {
  auto tz = schedule_zone(s);
  if (!tz) return std::unexpected(std::move(tz).error());
  return shifts(s, *tz, from, to);
}

core::Result<CurrentShifts> current_shifts(const config::Schedule& s, const TimeZone& tz, core::Timestamp t) {
  auto resolver = Resolver::make(s, tz);
  if (!resolver) return std::unexpected(std::move(resolver).error());
  return CurrentShifts{resolver->current(t), resolver->next_change(t)};
}

core::Result<CurrentShifts> current_shifts(const config::Schedule& s, core::Timestamp t) {
  auto tz = schedule_zone(s);
  if (!tz) return std::unexpected(std::move(tz).error());
  return current_shifts(s, *tz, t);
}

}  // namespace tocsin::oncall
