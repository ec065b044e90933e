// The streaming rule engine: each arriving sample is checked against every rule whose selector
// matches it, right away — not on a polling interval. Per (rule, series) it runs the Prometheus
// alert state machine  inactive → pending → firing → resolved  with `for` and `keep_firing_for`,
// and reports every transition as an AlertEvent with the time it happened.
//
// Evaluation is a pure step function of its inputs: ingest(sample) uses the sample's timestamp,
// eval(now) fires the timers (pending alerts whose `for` has elapsed with no new sample,
// keep_firing_for expiry). The caller reads the clock and schedules eval at next_due().
// Thread-safety: not thread-safe; the owner serialises calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/flat_u64_map.h"
#include "core/sample.h"
#include "detect/detector.h"
#include "tsdb/expr.h"
#include "tsdb/series_store.h"

namespace tocsin::detect {

enum class AlertPhase : uint8_t { kInactive, kPending, kFiring, kResolved };
std::string_view to_string(AlertPhase p);

// One transition of one alert (one rule × one series).
struct AlertEvent {
  uint64_t fingerprint = 0;  // of `labels`
  std::string rule;
  core::Labels labels;  // series labels without __name__, plus alertname, severity and rule labels
  std::map<std::string, std::string> annotations;  // templated with the sample
  AlertPhase from = AlertPhase::kInactive;
  AlertPhase to = AlertPhase::kInactive;  // kInactive: a pending alert dropped before it fired
  double value = 0;
  double score = 0;
  bool flapping = false;        // firing held by flapping suppression
  core::Timestamp at{};         // when the transition happened
  core::Timestamp active_at{};  // when the condition first held
  std::string condition;        // the detector's description, e.g. "value > 0.9"
};

// An alert that was pending or firing when the process stopped (read back from the store).
struct RestoredAlert {
  uint64_t fingerprint = 0;  // alert fingerprint
  AlertPhase phase = AlertPhase::kFiring;
  core::Timestamp active_at{};
  core::Timestamp last_crossing_at{};
  double value = 0;
};

// How a rule is doing, for /metrics and the API.
struct RuleHealth {
  std::string rule;
  std::string condition;
  uint64_t evaluations = 0;  // samples evaluated
  size_t series = 0;
  size_t pending = 0;
  size_t firing = 0;
  size_t flapping = 0;
  std::optional<core::Timestamp> last_evaluation;  // timestamp of the last sample evaluated
  double evaluation_seconds_avg = 0;  // mean time to evaluate one sample (sampled: 1 in 64 is timed)
  std::string last_error;             // empty when healthy
};

class RuleEngine {
 public:
  // `series` holds the recent samples that over-time rules (`rate(x[5m])`) read; without it only
  // plain-selector rules can be evaluated. It must outlive the engine.
  // `clock` (optional) times a sample of evaluations for RuleHealth.
  static core::Result<std::unique_ptr<RuleEngine>> create(const std::vector<config::Rule>& rules,
                                                          const DetectorRegistry& registry,
                                                          const tsdb::SeriesStore* series = nullptr,
                                                          const core::Clock* clock = nullptr);

  // Seeds alert state after a restart. A restored alert takes effect when its series is next
  // seen, so a sample back under the threshold resolves an alert that fired before the restart.
  // Series states that exist already and are not in `alerts` become inactive: the caller's list
  // is the truth, whatever samples replayed before this call did to the phases.
  void restore(std::vector<RestoredAlert> alerts);
  // The same for the listed alerts only, for series that move to this engine while it runs
  // (partitioned detection): each listed alert's series takes its phase (pending/firing as
  // given; inactive or resolved makes it inactive), now or, when its series has no state yet,
  // once the series is seen or merged in. Every other series keeps its phase.
  void restore_some(std::vector<RestoredAlert> alerts);

  // Feeds one sample to every matching rule. Samples older than the series' last (out of order)
  // or at the same timestamp (duplicates) are counted and dropped.
  // `ref` is the sample's series in the store given to create() (after the sample was appended);
  // over-time rules evaluate their function there at the sample's timestamp.
  std::vector<AlertEvent> ingest(const core::Sample& sample, std::optional<tsdb::SeriesRef> ref = std::nullopt) {
    std::vector<AlertEvent> out;
    const tsdb::Point point{sample.ts, sample.value};
    ingest_points(sample.labels, sample.labels.fingerprint(), std::span(&point, 1), ref, out);
    return out;
  }
  // The same for points of one series, in order, whose labels (and `series_fp`, their
  // fingerprint) the caller already has; `ref`, when given, already holds all of them. Appends the
  // alert transitions to `out`, in the order of the points.
  // Why a batch and an out-parameter: this runs for every sample received; the rules watching the
  // series are looked up once per batch, and nothing is allocated when nothing fires.
  void ingest_points(const core::Labels& labels, uint64_t series_fp, std::span<const tsdb::Point> points,
                     std::optional<tsdb::SeriesRef> ref, std::vector<AlertEvent>& out);
  // Starts loading what ingest_points() will read for these series (by fingerprint), for a caller
  // about to feed them one after another (the engine, a few dozen series of a request at a time):
  // a hint, with no effect on any result. Why: a series' entry, its rules' states, their
  // detectors and the detectors' learned state are separate allocations, each read only after
  // the one before, and under ingest load none of them is in the CPU caches: a chain of misses
  // per series. Here each level is asked for across all the series before the next, so the
  // misses of one level overlap instead of queueing.
  void prefetch(std::span<const uint64_t> series_fps) const;
  // Drops the state of series with no sample since `cutoff` (alerts that are pending or firing
  // keep theirs until they resolve): keeps memory bounded as series come and go.
  void forget_stale(core::Timestamp cutoff);
  // Fires the timers due at or before `now`.
  std::vector<AlertEvent> eval(core::Timestamp now);
  // The earliest time eval() has something to do.
  std::optional<core::Timestamp> next_due() const;

  std::vector<RuleHealth> health() const;

  // Detector state per series (learned baselines, last sample), so a restart does not reset
  // every baseline. Alert phases are not in it: they come from the store via restore().
  std::string snapshot() const;
  // Loads a snapshot written by snapshot(). Series of rules that no longer exist, or whose
  // detector changed, are skipped; a series whose detector rejects its bytes starts fresh and the
  // rule's last_error says so. A snapshot that cannot be read at all is an error and loads nothing.
  core::Status load_snapshot(std::string_view bytes);
  // Takes from a snapshot written by snapshot() (possibly by another replica with the same rules)
  // the detector state of the series for which take(series_fp) is true — `series_fp` being the
  // fingerprint of the series' labels, as ingest_points() gets it — and touches no other series.
  // A series this engine already has is replaced only when the snapshot's last sample is later
  // than its own (a local state with no sample yet counts as older); a replaced state keeps its
  // alert phase. Rules gone or with a changed detector are skipped as in load_snapshot(); a series
  // whose detector rejects its bytes is skipped (the rule's last_error says so). Alert phases are
  // not in the snapshot: restore_some() gives them. Returns how many (rule, series) states were
  // taken; a snapshot that cannot be read at all is an error and changes nothing.
  core::Result<size_t> merge_snapshot(std::string_view bytes, const std::function<bool(uint64_t series_fp)>& take);
  // Removes the whole state — detector, timers, alert phase — of every series for which
  // drop(series_fp) is true, pending and firing ones included (their new owner carries them on),
  // without events; their timers no longer fire. A dropped series seen again starts fresh.
  // Returns how many (rule, series) states were dropped. `drop` is asked once per series.
  size_t drop_series(const std::function<bool(uint64_t series_fp)>& drop);

  size_t rule_count() const { return rules_.size(); }
  size_t series_count() const;
  uint64_t out_of_order_samples() const { return out_of_order_; }
  uint64_t duplicate_samples() const { return duplicates_; }

 private:
  // What only a series that has fired (or resolved) needs: allocated then, not per series.
  struct AlertDetails {
    std::map<std::string, std::string> annotations;  // templated with the last firing sample
    // Times the alert resolved (or would have) recently, newest last; bounded.
    std::array<core::Timestamp, 3> recent_resolves{};  // this one and the two before
    size_t resolves_seen = 0;
  };
  // One per (rule, series): with `auto` on 10,000 series there are 10,000 of these.
  // Why packed labels and details apart: a state was ~200 bytes plus ~400 of alert labels;
  // most series never fire, and their alert labels are read only on a transition or a snapshot.
  struct SeriesState {
    std::unique_ptr<SeriesDetector> detector;
    core::PackedLabels alert_labels;
    std::unique_ptr<AlertDetails> details;  // null until the series fires or resolves
    uint64_t fingerprint = 0;  // of the alert labels
    double value = 0;
    double score = 0;
    core::Timestamp last_ts{};
    core::Timestamp active_at{};
    core::Timestamp last_crossing_at{};
    AlertPhase phase = AlertPhase::kInactive;
    bool crossing = false;  // the last sample's decision
    bool seen = false;      // has a sample (or restored state): last_ts is meaningful
    bool flapping = false;
    bool listed = false;  // in its rule's `timers`

    AlertDetails& alert_details() {
      if (!details) details = std::make_unique<AlertDetails>();
      return *details;
    }
  };
  struct CompiledRule {
    const config::Rule* config;  // owned by the Config, which outlives the engine
    std::unique_ptr<DetectorSpec> detector;
    std::unordered_map<uint64_t, SeriesState> series;  // by series fingerprint
    // The series (fingerprints) that may have a timer: every one whose due_at() is set, and some
    // whose timer has passed, until eval() finds them without one. Why not scan `series`: the
    // driver asks eval() and next_due() after every request that moved an alert, and a scan of
    // 10,000 states per pass cost a sixth of the server's CPU under remote_write load, for the
    // few series that are pending or held firing.
    std::vector<uint64_t> timers;
    uint64_t evaluations = 0;
    uint64_t timed = 0;  // evaluations that were timed
    double timed_seconds = 0;
    std::optional<core::Timestamp> last_evaluation;
    std::string last_error;
  };

  // One series' state as read from a snapshot, not yet applied.
  struct LoadedSeries {
    CompiledRule* rule;
    uint64_t series_fp;
    core::Labels labels;  // the alert labels
    core::Timestamp last_ts;
    double value;
    std::string detector;
  };

  RuleEngine(std::vector<CompiledRule> rules, const tsdb::SeriesStore* series, const core::Clock* clock)
      : rules_(std::move(rules)), store_(series), clock_(clock) {}
  AlertEvent transition(const CompiledRule& rule, SeriesState& s, AlertPhase to, core::Timestamp at) const;
  std::optional<core::Timestamp> due_at(const CompiledRule& rule, const SeriesState& s) const;
  // Lists the series in its rule's `timers` if it has a timer now. Called wherever a state may
  // gain one: a phase, crossing or detector changed outside eval().
  void list_timer(CompiledRule& rule, uint64_t series_fp, SeriesState& s) const;
  // After states were erased: their fingerprints leave `timers`.
  static void prune_timers(CompiledRule& rule);
  // The alert state machine: one decision (from a sample or a detector check) at time `at`.
  void step(const CompiledRule& rule, SeriesState& s, const Decision& d, core::Timestamp at,
            std::vector<AlertEvent>& out) const;
  // Resolves a firing alert whose condition has cleared for long enough, unless flapping holds it.
  void maybe_resolve(const CompiledRule& rule, SeriesState& s, core::Timestamp at, std::vector<AlertEvent>& out) const;
  // Records a resolve at `at`; true when it is the third within the rule's flap window.
  bool would_flap(const CompiledRule& rule, SeriesState& s, core::Timestamp at) const;
  core::Duration hold_for(const CompiledRule& rule, const SeriesState& s) const;
  // Reads a whole snapshot; keeps the series of known rules for which take(series_fp) is true
  // (all of them when `take` is null). An error when any of it is unreadable.
  core::Result<std::vector<LoadedSeries>> read_snapshot(std::string_view bytes,
                                                        const std::function<bool(uint64_t)>* take);
  SeriesState& series_for(CompiledRule& rule, uint64_t series_fp, const core::Labels& series_labels);
  // One point through one rule's state for its series.
  void evaluate(CompiledRule& rule, SeriesState& s, const tsdb::Point& p, std::optional<tsdb::SeriesRef> ref,
                std::vector<AlertEvent>& out);

  std::vector<CompiledRule> rules_;
  const tsdb::SeriesStore* store_;
  const core::Clock* clock_;
  // Which rules watch a series, decided once when the series is first seen (by fingerprint), so
  // each later batch costs one hash lookup instead of matching every rule's selector.
  // Why pointers to the states: a lookup in each rule's map per sample cost as much as a cheap
  // detector. They stay valid because unordered_map nodes never move; forget_stale() and
  // drop_series(), the only places that erase states, drop the entries of the series whose states
  // they erased; merge_snapshot() drops the entry of a series it adds a state to.
  struct Watch {
    CompiledRule* rule;  // into rules_, which never changes size after create()
    SeriesState* state;  // into rule->series
  };
  struct Matches {
    std::vector<Watch> watches;
    core::Timestamp last_seen{};
  };
  core::FlatU64Map<Matches> matches_;  // flat: one probe per series and request (see FlatU64Map)
  std::vector<tsdb::Point> scratch_;  // reused window buffer for over-time rules
  std::unordered_map<uint64_t, RestoredAlert> restored_;  // by alert fingerprint, until the series shows up
  uint64_t out_of_order_ = 0;
  uint64_t duplicates_ = 0;
};

// Expands {{ $value }}, {{ $value | humanize }} (Prometheus' SI-prefixed four digits) and
// {{ $labels.name }} in an annotation template; anything else is left as written.
std::string expand_template(std::string_view text, const core::Labels& labels, double value);

}  // namespace tocsin::detect
