#include "detect/rule_engine.h"

#include <fmt/format.h>

#include <cmath>
#include <unordered_set>

#include "detect/replay.h"
#include "detect/snapshot_codec.h"

namespace tocsin::detect {

std::string_view to_string(AlertPhase p) {
  switch (p) {
    case AlertPhase::kInactive: return "inactive";
    case AlertPhase::kPending: return "pending";
    case AlertPhase::kFiring: return "firing";
    case AlertPhase::kResolved: return "resolved";
  }
  return "inactive";
}

core::Result<std::unique_ptr<RuleEngine>> RuleEngine::create(const std::vector<config::Rule>& rules,
                                                             const DetectorRegistry& registry,
                                                             const tsdb::SeriesStore* series,
                                                             const core::Clock* clock) {
  std::vector<CompiledRule> compiled;
  compiled.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    auto spec = registry.create(rules[i].detector);
    if (!spec) {
      core::Error e = std::move(spec).error();
      e.field(fmt::format("rules[{}].{}", i, e.field()));
      return std::unexpected(std::move(e));
    }
    compiled.push_back(CompiledRule{&rules[i], std::move(*spec), {}, {}, 0, 0, 0, std::nullopt, {}});
  }
  return std::unique_ptr<RuleEngine>(new RuleEngine(std::move(compiled), series, clock));
}

void RuleEngine::restore(std::vector<RestoredAlert> alerts) {
  for (auto& a : alerts) {
    if (a.phase == AlertPhase::kPending || a.phase == AlertPhase::kFiring) restored_[a.fingerprint] = a;
  }
  // Series already known (from a state snapshot, or samples replayed since) take their alert
  // phase now. The store is the truth: one it does not hold as pending or firing is inactive,
  // whatever replayed samples made of it (a timer resolved it, or its write never committed).
  for (auto& rule : rules_) {
    for (auto& [fp, s] : rule.series) {
      auto r = restored_.find(s.fingerprint);
      if (r == restored_.end()) {
        s.phase = AlertPhase::kInactive;
        s.flapping = false;
        continue;
      }
      s.phase = r->second.phase;
      s.active_at = r->second.active_at;
      s.last_crossing_at = r->second.last_crossing_at;
      s.crossing = true;
      restored_.erase(r);
      list_timer(rule, fp, s);
    }
  }
}

void RuleEngine::restore_some(std::vector<RestoredAlert> alerts) {
  if (alerts.empty()) return;
  std::unordered_map<uint64_t, RestoredAlert> listed;  // by alert fingerprint
  for (auto& a : alerts) {
    restored_.erase(a.fingerprint);  // the newest word on each listed alert wins
    listed[a.fingerprint] = a;
  }
  for (auto& rule : rules_) {
    for (auto& [fp, s] : rule.series) {
      auto a = listed.find(s.fingerprint);
      if (a == listed.end()) continue;
      const RestoredAlert& r = a->second;
      if (r.phase == AlertPhase::kPending || r.phase == AlertPhase::kFiring) {
        s.phase = r.phase;
        s.active_at = r.active_at;
        s.last_crossing_at = r.last_crossing_at;
        s.crossing = true;
      } else {
        s.phase = AlertPhase::kInactive;
        s.flapping = false;
      }
      list_timer(rule, fp, s);
      listed.erase(a);
    }
  }
  // The rest take effect when their series is first seen (series_for) or merged in.
  for (auto& [afp, r] : listed) {
    if (r.phase == AlertPhase::kPending || r.phase == AlertPhase::kFiring) restored_[afp] = r;
  }
}

size_t RuleEngine::series_count() const {
  size_t n = 0;
  for (const auto& r : rules_) n += r.series.size();
  return n;
}

AlertEvent RuleEngine::transition(const CompiledRule& rule, SeriesState& s, AlertPhase to, core::Timestamp at) const {
  AlertEvent e;
  e.fingerprint = s.fingerprint;
  e.rule = rule.config->name;
  e.labels = s.alert_labels.unpack();
  if (s.details) e.annotations = s.details->annotations;
  e.from = s.phase;
  e.to = to;
  e.value = s.value;
  e.score = s.score;
  e.at = at;
  e.active_at = s.active_at;
  e.condition = rule.detector->describe();
  s.phase = to == AlertPhase::kResolved ? AlertPhase::kInactive : to;
  return e;
}

RuleEngine::SeriesState& RuleEngine::series_for(CompiledRule& rule, uint64_t series_fp,
                                                const core::Labels& series_labels) {
  auto [it, inserted] = rule.series.try_emplace(series_fp);
  SeriesState& s = it->second;
  if (!inserted) return s;
  s.detector = rule.detector->make();
  core::Labels labels = alert_labels(*rule.config, series_labels);
  s.fingerprint = labels.fingerprint();
  s.alert_labels = core::PackedLabels(labels);
  if (auto r = restored_.find(s.fingerprint); r != restored_.end()) {
    s.phase = r->second.phase;
    s.active_at = r->second.active_at;
    s.last_crossing_at = r->second.last_crossing_at;
    s.value = r->second.value;
    s.crossing = true;
    restored_.erase(r);
  }
  return s;
}

void RuleEngine::ingest_points(const core::Labels& labels, uint64_t series_fp, std::span<const tsdb::Point> points,
                               std::optional<tsdb::SeriesRef> ref, std::vector<AlertEvent>& out) {
  if (points.empty()) return;
  auto [cached, first_sight] = matches_.try_emplace(series_fp);
  Matches& m = *cached;
  if (first_sight) {
    for (auto& rule : rules_) {
      if (core::matches_all(rule.config->selector, labels)) {
        m.watches.push_back({&rule, &series_for(rule, series_fp, labels)});
      }
    }
  }
  for (const auto& p : points) {
    m.last_seen = std::max(m.last_seen, p.ts);
    for (const Watch& w : m.watches) evaluate(*w.rule, *w.state, p, ref, out);
  }
  // Once per series and batch: a timer set and cleared within the batch needs no listing.
  for (const Watch& w : m.watches) list_timer(*w.rule, series_fp, *w.state);
}

void RuleEngine::prefetch(std::span<const uint64_t> series_fps) const {
  for (const uint64_t fp : series_fps) matches_.prefetch(fp);
  for (const uint64_t fp : series_fps) {
    if (const Matches* m = matches_.find(fp)) __builtin_prefetch(m->watches.data());
  }
  for (const uint64_t fp : series_fps) {
    if (const Matches* m = matches_.find(fp)) {
      for (const Watch& w : m->watches) {
        static_assert(sizeof(SeriesState) <= 128, "two lines");
        __builtin_prefetch(w.state);
        __builtin_prefetch(reinterpret_cast<const char*>(w.state) + 64);
      }
    }
  }
  for (const uint64_t fp : series_fps) {
    if (const Matches* m = matches_.find(fp)) {
      for (const Watch& w : m->watches) w.state->detector->prefetch();
    }
  }
}

void RuleEngine::evaluate(CompiledRule& rule, SeriesState& s, const tsdb::Point& p,
                          std::optional<tsdb::SeriesRef> ref, std::vector<AlertEvent>& out) {
  const core::Timestamp ts = p.ts;
  // The series store drops these already; this guards the store-less use and a rule state
  // snapshot newer than the restored samples.
  if (s.seen && ts <= s.last_ts) {
    ++(ts == s.last_ts ? duplicates_ : out_of_order_);
    return;
  }
  // Timing every evaluation would cost as much as a cheap detector; 1 in 64 gives the average.
  // (1 in 16 put two clock reads per 16 samples at 1.3 % of the server's CPU under ingest load.)
  const bool timed = clock_ && (rule.evaluations & 63) == 0;
  const core::MonoTime started = timed ? clock_->mono_now() : core::MonoTime{};
  double value = p.value;
  if (rule.config->expr.function != tsdb::Function::kNone) {
    // Over-time rules read the window from the store; no store or no value yet: nothing to judge.
    if (!store_ || !ref) return;
    auto v = tsdb::evaluate(*store_, *ref, rule.config->expr, ts, scratch_);
    if (!v) return;
    value = *v;
  }
  s.seen = true;
  const Decision d = s.detector->update(ts, value);
  ++rule.evaluations;
  rule.last_evaluation = ts;
  s.last_ts = ts;
  s.value = value;
  if (d.firing) {
    auto& annotations = s.alert_details().annotations;
    annotations.clear();
    if (!rule.config->annotations.empty()) {
      const core::Labels labels = s.alert_labels.unpack();
      for (const auto& [k, v] : rule.config->annotations) annotations[k] = expand_template(v, labels, value);
    }
  }
  step(rule, s, d, ts, out);
  if (timed) {
    ++rule.timed;
    rule.timed_seconds += std::chrono::duration<double>(clock_->mono_now() - started).count();
  }
}

void RuleEngine::forget_stale(core::Timestamp cutoff) {
  std::unordered_set<uint64_t> forgotten;  // series with at least one rule state erased
  for (auto& rule : rules_) {
    std::erase_if(rule.series, [&](const auto& entry) {
      const SeriesState& s = entry.second;
      const bool stale = s.phase == AlertPhase::kInactive && s.last_ts < cutoff && !s.detector->next_check();
      if (stale) forgotten.insert(entry.first);
      return stale;
    });
    prune_timers(rule);
  }
  // A cached entry must not outlive a state it points to (a series can be seen recently with a
  // stale state, e.g. an over-time rule that had no value to judge): such a series is matched
  // again when next seen, and its rules' states start fresh, as they would have without the cache.
  matches_.erase_if([&](uint64_t series_fp, const Matches& m) {
    return m.last_seen < cutoff || forgotten.contains(series_fp);
  });
}

bool RuleEngine::would_flap(const CompiledRule& rule, SeriesState& s, core::Timestamp at) const {
  const auto window = rule.config->flap_window;
  if (window.count() <= 0) return false;
  // Remember this resolve; flapping = it is the third within the window.
  AlertDetails& d = s.alert_details();
  d.recent_resolves[d.resolves_seen % d.recent_resolves.size()] = at;
  ++d.resolves_seen;
  if (d.resolves_seen < d.recent_resolves.size()) return false;
  for (const auto& t : d.recent_resolves) {
    if (at - t >= window) return false;
  }
  return true;
}

core::Duration RuleEngine::hold_for(const CompiledRule& rule, const SeriesState& s) const {
  return s.flapping ? std::max(rule.config->keep_firing_for, rule.config->flap_window) : rule.config->keep_firing_for;
}

void RuleEngine::step(const CompiledRule& rule, SeriesState& s, const Decision& d, core::Timestamp at,
                      std::vector<AlertEvent>& out) const {
  s.score = d.score;
  s.crossing = d.firing;
  if (d.firing) s.last_crossing_at = at;
  const auto for_duration = rule.config->for_duration;
  switch (s.phase) {
    case AlertPhase::kInactive:
    case AlertPhase::kResolved:
      if (d.firing) {
        s.active_at = at;
        out.push_back(transition(rule, s, AlertPhase::kPending, at));
        if (for_duration.count() == 0) out.push_back(transition(rule, s, AlertPhase::kFiring, at));
      }
      break;
    case AlertPhase::kPending:
      if (!d.firing) {
        out.push_back(transition(rule, s, AlertPhase::kInactive, at));
      } else if (at - s.active_at >= for_duration) {
        out.push_back(transition(rule, s, AlertPhase::kFiring, at));
      }
      break;
    case AlertPhase::kFiring:
      if (!d.firing) maybe_resolve(rule, s, at, out);
      break;
  }
}

void RuleEngine::maybe_resolve(const CompiledRule& rule, SeriesState& s, core::Timestamp at,
                               std::vector<AlertEvent>& out) const {
  if (at - s.last_crossing_at < hold_for(rule, s)) return;
  if (!s.flapping && would_flap(rule, s, at)) {
    s.flapping = true;  // the third resolve within the window: hold it firing until quiet
    if (at - s.last_crossing_at < hold_for(rule, s)) return;
  }
  out.push_back(transition(rule, s, AlertPhase::kResolved, at));
  s.flapping = false;
}

std::optional<core::Timestamp> RuleEngine::due_at(const CompiledRule& rule, const SeriesState& s) const {
  std::optional<core::Timestamp> due;
  if (s.phase == AlertPhase::kPending) due = s.active_at + rule.config->for_duration;
  if (s.phase == AlertPhase::kFiring && !s.crossing) due = s.last_crossing_at + hold_for(rule, s);
  if (auto check = s.detector ? s.detector->next_check() : std::nullopt; check && (!due || *check < *due)) {
    due = check;
  }
  return due;
}

void RuleEngine::list_timer(CompiledRule& rule, uint64_t series_fp, SeriesState& s) const {
  if (s.listed || !due_at(rule, s)) return;
  s.listed = true;
  rule.timers.push_back(series_fp);
}

void RuleEngine::prune_timers(CompiledRule& rule) {
  std::erase_if(rule.timers, [&](uint64_t fp) { return !rule.series.contains(fp); });
}

std::vector<AlertEvent> RuleEngine::eval(core::Timestamp now) {
  std::vector<AlertEvent> out;
  for (auto& rule : rules_) {
    for (size_t i = 0; i < rule.timers.size();) {
      auto it = rule.series.find(rule.timers[i]);
      SeriesState* s = it == rule.series.end() ? nullptr : &it->second;
      if (s) {
        // A detector that decides without samples (e.g. `absent`) goes first.
        if (auto check = s->detector->next_check(); check && *check <= now) {
          step(rule, *s, s->detector->check(*check), *check, out);
        }
        const auto due = due_at(rule, *s);
        if (due && *due <= now) {
          // Streaming semantics: the last decision holds until a new sample says otherwise, so a
          // pending alert fires when `for` has elapsed even if no sample arrives exactly then.
          if (s->phase == AlertPhase::kPending && s->crossing) {
            out.push_back(transition(rule, *s, AlertPhase::kFiring, *due));
          } else if (s->phase == AlertPhase::kFiring && !s->crossing) {
            maybe_resolve(rule, *s, *due, out);
          }
        }
        if (due_at(rule, *s)) {
          ++i;
          continue;
        }
        s->listed = false;
      }
      // No timer left: off the list until a sample, restore or merge gives it one again.
      rule.timers[i] = rule.timers.back();
      rule.timers.pop_back();
    }
  }
  return out;
}

std::optional<core::Timestamp> RuleEngine::next_due() const {
  std::optional<core::Timestamp> next;
  for (const auto& rule : rules_) {
    for (const uint64_t fp : rule.timers) {
      auto it = rule.series.find(fp);
      if (it == rule.series.end()) continue;
      const auto due = due_at(rule, it->second);
      if (due && (!next || *due < *next)) next = due;
    }
  }
  return next;
}

std::vector<RuleHealth> RuleEngine::health() const {
  std::vector<RuleHealth> out;
  out.reserve(rules_.size());
  for (const auto& rule : rules_) {
    RuleHealth h;
    h.rule = rule.config->name;
    h.condition = rule.detector->describe();
    h.evaluations = rule.evaluations;
    h.series = rule.series.size();
    for (const auto& [fp, s] : rule.series) {
      h.pending += s.phase == AlertPhase::kPending;
      h.firing += s.phase == AlertPhase::kFiring;
      h.flapping += s.flapping;
    }
    h.last_evaluation = rule.last_evaluation;
    h.evaluation_seconds_avg = rule.timed ? rule.timed_seconds / static_cast<double>(rule.timed) : 0;
    h.last_error = rule.last_error;
    out.push_back(std::move(h));
  }
  return out;
}

namespace {
constexpr std::string_view kSnapshotTag = "RULE";
constexpr uint8_t kSnapshotVersion = 1;
}  // namespace

std::string RuleEngine::snapshot() const {
  SnapshotWriter w(kSnapshotTag, kSnapshotVersion);
  w.u64(rules_.size());
  for (const auto& rule : rules_) {
    w.str(rule.config->name);
    w.str(rule.detector->describe());  // a changed detector does not inherit old state
    w.u64(rule.series.size());
    for (const auto& [fp, s] : rule.series) {
      w.u64(fp);
      w.u64(s.alert_labels.size());
      s.alert_labels.for_each([&](std::string_view name, std::string_view value) {
        w.str(name);
        w.str(value);
      });
      w.i64(core::to_unix_ms(s.last_ts));
      w.f64(s.value);
      w.str(s.detector->snapshot());
    }
  }
  return std::move(w).finish();
}

core::Result<std::vector<RuleEngine::LoadedSeries>> RuleEngine::read_snapshot(
    std::string_view bytes, const std::function<bool(uint64_t)>* take) {
  auto corrupt = [](std::string_view what) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("rule state snapshot is corrupt: {}", what)));
  };
  auto opened = SnapshotReader::open(bytes, kSnapshotTag, kSnapshotVersion);
  if (!opened) return corrupt(opened.error().message());
  SnapshotReader& r = *opened;
  std::vector<LoadedSeries> loaded;
  const auto rules = r.count(rules_.size() + 1'000'000);
  if (!rules) return corrupt("truncated");
  for (uint64_t i = 0; i < *rules; ++i) {
    const auto name = r.str();
    const auto condition = r.str();
    const auto count = r.count(100'000'000);
    if (!name || !condition || !count) return corrupt("truncated rule header");
    CompiledRule* rule = nullptr;
    for (auto& c : rules_) {
      if (c.config->name == *name && c.detector->describe() == *condition) rule = &c;
    }
    for (uint64_t j = 0; j < *count; ++j) {
      const auto fp = r.u64();
      const auto nlabels = r.count(10'000);
      if (!fp || !nlabels) return corrupt("truncated series");
      std::vector<core::Label> pairs;
      for (uint64_t k = 0; k < *nlabels; ++k) {
        const auto n = r.str();
        const auto v = r.str();
        if (!n || !v) return corrupt("truncated labels");
        pairs.push_back({std::string(*n), std::string(*v)});
      }
      const auto ts = r.i64();
      const auto value = r.f64();
      const auto detector = r.str();
      if (!ts || !value || !detector) return corrupt("truncated series state");
      if (rule && (!take || (*take)(*fp))) {
        loaded.push_back({rule, *fp, core::Labels::from_pairs(std::move(pairs)), core::from_unix_ms(*ts), *value,
                          std::string(*detector)});
      }
    }
  }
  if (!r.finish()) return corrupt("trailing bytes");
  return loaded;
}

core::Status RuleEngine::load_snapshot(std::string_view bytes) {
  // Read everything first, then apply: a corrupt tail must not leave half a state behind.
  auto loaded = read_snapshot(bytes, nullptr);
  if (!loaded) return std::unexpected(std::move(loaded).error());
  for (auto& l : *loaded) {
    auto [it, inserted] = l.rule->series.try_emplace(l.series_fp);
    SeriesState& s = it->second;
    if (!inserted) continue;
    s.detector = l.rule->detector->make();
    if (auto st = s.detector->restore(l.detector); !st) {
      l.rule->last_error = fmt::format("detector state not restored for {}: {}", l.labels.to_string(),
                                       st.error().message());
      s.detector = l.rule->detector->make();
    }
    s.fingerprint = l.labels.fingerprint();
    s.alert_labels = core::PackedLabels(l.labels);
    s.last_ts = l.last_ts;
    s.seen = true;
    s.value = l.value;
    list_timer(*l.rule, l.series_fp, s);
  }
  return {};
}

core::Result<size_t> RuleEngine::merge_snapshot(std::string_view bytes, const std::function<bool(uint64_t)>& take) {
  // Read everything first, then apply: unreadable bytes change nothing.
  auto loaded = read_snapshot(bytes, &take);
  if (!loaded) return std::unexpected(std::move(loaded).error());
  size_t taken = 0;
  for (auto& l : *loaded) {
    auto local = l.rule->series.find(l.series_fp);
    const bool exists = local != l.rule->series.end();
    // Newer local state wins: this replica has seen a later sample than the snapshot's writer.
    if (exists && local->second.seen && l.last_ts <= local->second.last_ts) continue;
    auto detector = l.rule->detector->make();
    if (auto st = detector->restore(l.detector); !st) {
      // The series starts fresh when it is next seen, as it would have without the snapshot.
      l.rule->last_error = fmt::format("detector state not merged for {}: {}", l.labels.to_string(),
                                       st.error().message());
      continue;
    }
    // A replaced state stays the same node (ingest caches pointers to it) and keeps its alert
    // phase, which the snapshot does not carry; only the detector state and last sample change.
    SeriesState& s = exists ? local->second : l.rule->series[l.series_fp];
    s.detector = std::move(detector);
    s.last_ts = l.last_ts;
    s.seen = true;
    s.value = l.value;
    if (!exists) {
      s.fingerprint = l.labels.fingerprint();
      s.alert_labels = core::PackedLabels(l.labels);
      // An alert restored before its series' state arrived takes effect now (series_for(), which
      // would otherwise apply it, finds the state already there).
      if (auto r = restored_.find(s.fingerprint); r != restored_.end()) {
        s.phase = r->second.phase;
        s.active_at = r->second.active_at;
        s.last_crossing_at = r->second.last_crossing_at;
        s.crossing = true;
        restored_.erase(r);
      }
      // A series matched already (seen with no state for this rule) is matched again when next
      // seen, so its cached rule list includes the new state; the match finds the existing states.
      matches_.erase(l.series_fp);
    }
    list_timer(*l.rule, l.series_fp, s);
    ++taken;
  }
  return taken;
}

size_t RuleEngine::drop_series(const std::function<bool(uint64_t)>& drop) {
  // Asked once per series: `drop` may be costly (a hash over the membership), and erase_if below
  // needs the same answer every time it asks.
  std::unordered_map<uint64_t, bool> decided;
  auto dropped = [&](uint64_t series_fp) {
    auto [it, inserted] = decided.try_emplace(series_fp, false);
    if (inserted) it->second = drop(series_fp);
    return it->second;
  };
  size_t n = 0;
  for (auto& rule : rules_) {
    n += std::erase_if(rule.series, [&](const auto& entry) { return dropped(entry.first); });
    prune_timers(rule);
  }
  // The cached rule lists point to the erased states.
  matches_.erase_if([&](uint64_t series_fp, const Matches&) { return dropped(series_fp); });
  return n;
}

namespace {

// Prometheus' `humanize`: four significant digits with an SI prefix ("1.024k", "950m").
std::string humanize(double v) {
  if (v == 0 || !std::isfinite(v)) return fmt::format("{:.4g}", v);
  static constexpr const char* kBig[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
  static constexpr const char* kSmall[] = {"", "m", "u", "n", "p", "f", "a", "z", "y"};
  size_t i = 0;
  if (std::abs(v) >= 1) {
    while (std::abs(v) >= 1000 && i + 1 < std::size(kBig)) v /= 1000, ++i;
    return fmt::format("{:.4g}{}", v, kBig[i]);
  }
  while (std::abs(v) < 1 && i + 1 < std::size(kSmall)) v *= 1000, ++i;
  return fmt::format("{:.4g}{}", v, kSmall[i]);
}

}  // namespace

std::string expand_template(std::string_view text, const core::Labels& labels, double value) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    std::string_view expr = text.substr(open + 2, close - open - 2);
    while (!expr.empty() && expr.front() == ' ') expr.remove_prefix(1);
    while (!expr.empty() && expr.back() == ' ') expr.remove_suffix(1);
    if (expr == "$value" || expr == ".Value") {
      out += fmt::format("{}", value);
    } else if (expr == "$value | humanize" || expr == ".Value | humanize" || expr == "humanize $value" ||
               expr == "humanize .Value") {
      out += humanize(value);
    } else if (expr.starts_with("$labels.")) {
      out += labels.get_or(expr.substr(8), "");
    } else if (expr.starts_with(".Labels.")) {
      out += labels.get_or(expr.substr(8), "");
    } else {
      out.append(text.substr(open, close + 2 - open));  // unknown expressions stay visible
    }
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace tocsin::detect
