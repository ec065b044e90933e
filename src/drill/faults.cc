#include "drill/faults.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tocsin::drill {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

double frac_of(const Fault& f, Duration offset) {
  return std::clamp(
      std::chrono::duration<double>(offset - f.at).count() / std::chrono::duration<double>(f.duration).count(), 0.0,
      1.0);
}

bool active(const Fault& f, Duration offset) { return offset >= f.at && offset < f.at + f.duration; }

}  // namespace

double envelope(Shape shape, double frac) {
  switch (shape) {
    case Shape::kSquare:
      return 1.0;
    case Shape::kLinear:
      return frac;
    case Shape::kTriangle:
      return 1.0 - std::abs(2.0 * frac - 1.0);
    case Shape::kDecay:
      return std::exp2(-10.0 * frac);
  }
  return 1.0;
}

std::vector<FaultWindow> fault_timeline(const Scenario& s) {
  std::vector<FaultWindow> out;
  for (const auto& f : s.faults) {
    FaultWindow w;
    w.kind = f.kind;
    w.target = f.series.empty() ? fmt::format("{}:{}", to_string(f.kind), f.event_kind) : f.series;
    w.from = s.start + f.at;
    w.to = w.from + f.duration;
    out.push_back(std::move(w));
  }
  std::stable_sort(out.begin(), out.end(), [](const FaultWindow& a, const FaultWindow& b) { return a.from < b.from; });
  return out;
}

SignalGenerator::SignalGenerator(const Scenario& scenario, core::Labels extra_labels)
    : scenario_(scenario), end_(scenario.start + scenario.duration) {
  for (const auto& spec : scenario.series) {
    SeriesState s;
    s.spec = &spec;
    s.labels = spec.labels;
    for (const auto& l : extra_labels) s.labels.set(l.name, l.value);
    s.labels.set("__name__", spec.name);
    s.rng = Rng(mix_seed(scenario.seed, "series:" + s.labels.to_string()));
    s.next = scenario.start;
    for (const auto& f : scenario.faults) {
      if (f.series == spec.name) s.faults.push_back(&f);
    }
    series_.push_back(std::move(s));
  }
  for (const auto& f : scenario.faults) {
    if (f.kind != FaultKind::kSecurityEvent && f.kind != FaultKind::kFeedbackBurst) continue;
    EventState e;
    e.fault = &f;
    e.labels = f.labels;
    for (const auto& l : extra_labels) e.labels.set(l.name, l.value);
    e.next = scenario.start + f.at;
    event_faults_.push_back(std::move(e));
  }
}

std::optional<Timestamp> SignalGenerator::next_time() const {
  std::optional<Timestamp> next;
  for (const auto& s : series_) {
    if (s.next < end_ && (!next || s.next < *next)) next = s.next;
  }
  for (const auto& e : event_faults_) {
    const Timestamp stop = scenario_.start + e.fault->at + e.fault->duration;
    if (e.next < stop && (!next || e.next < *next)) next = e.next;
  }
  return next;
}

std::optional<double> SignalGenerator::value_at(SeriesState& s, Timestamp t) {
  const SeriesSpec& spec = *s.spec;
  const Duration offset = t - scenario_.start;
  // Time of day in UTC, for the daily cycle.
  const double day_ms = 86'400'000.0;
  const double tod = std::fmod(static_cast<double>(core::to_unix_ms(t)), day_ms);
  const double phase = kTwoPi * (tod - static_cast<double>(spec.peak.count())) / day_ms;
  double level = spec.base + spec.daily_amplitude * std::cos(phase);
  double sigma = spec.noise;
  double extra_rate = 0;
  std::optional<double> flat;
  bool absent = false;
  for (const Fault* f : s.faults) {
    if (!active(*f, offset)) continue;
    const double env = envelope(f->shape, frac_of(*f, offset));
    switch (f->kind) {
      case FaultKind::kSpike:
      case FaultKind::kRamp:
      case FaultKind::kLevelShift:
        level += f->magnitude * env;
        break;
      case FaultKind::kFlatline:
        flat = f->magnitude;
        break;
      case FaultKind::kAbsent:
        absent = true;
        break;
      case FaultKind::kNoiseBurst:
        sigma *= 1.0 + (f->magnitude - 1.0) * env;
        break;
      case FaultKind::kErrorBurst:
        extra_rate += f->magnitude * env;
        break;
      case FaultKind::kSecurityEvent:
      case FaultKind::kFeedbackBurst:
        break;
    }
  }
  // One draw per tick whatever happens, so a fault never shifts the noise of later samples.
  const double noise = s.rng.normal() * sigma;
  if (absent) return std::nullopt;
  if (spec.type == SeriesSpec::Type::kCounter) {
    double rate = flat ? 0.0 : std::max(0.0, level + noise) + extra_rate;
    if (spec.max) rate = std::min(rate, *spec.max);
    s.counter += rate * std::chrono::duration<double>(spec.interval).count();
    return s.counter;
  }
  double v = flat ? *flat : level + noise;
  if (spec.min) v = std::max(v, *spec.min);
  if (spec.max) v = std::min(v, *spec.max);
  return v;
}

SignalGenerator::Tick SignalGenerator::take(Timestamp t) {
  Tick tick;
  for (auto& s : series_) {
    while (s.next <= t && s.next < end_) {
      const Timestamp at = s.next;
      s.next += s.spec->interval;
      if (auto v = value_at(s, at)) {
        tick.samples.push_back(core::Sample{s.labels, *v, at});
        ++samples_;
      }
    }
  }
  for (auto& e : event_faults_) {
    const Fault& f = *e.fault;
    const Timestamp stop = scenario_.start + f.at + f.duration;
    while (e.next <= t && e.next < stop) {
      const Timestamp at = e.next;
      e.next += kEventTick;
      const double env = envelope(f.shape, frac_of(f, at - scenario_.start));
      e.owed += f.magnitude * env * (std::chrono::duration<double>(kEventTick).count() / 60.0);
      const double whole = std::floor(e.owed + 1e-9);
      if (whole < 1) continue;
      e.owed -= whole;
      ingest::Event ev;
      ev.type = f.kind == FaultKind::kSecurityEvent ? ingest::EventType::kSecurity : ingest::EventType::kUserFeedback;
      ev.kind = f.event_kind;
      ev.labels = e.labels;
      ev.count = static_cast<uint64_t>(std::min(whole, static_cast<double>(ingest::kMaxEventCount)));
      ev.ts = at;
      events_ += ev.count;
      tick.events.push_back(std::move(ev));
    }
  }
  return tick;
}

}  // namespace tocsin::drill
