// Detectors turn a stream of samples of one series into a per-sample anomaly score in [0,1] and a
// firing decision. Each kind lives in its own folder and registers a factory by name in a
// DetectorRegistry; the rule engine never names a concrete detector.
//
// A DetectorSpec is the validated configuration of one rule's detector (immutable, shared); it
// makes one SeriesDetector per series, which holds that series' bounded state.
// Thread-safety: DetectorSpec and DetectorRegistry are immutable after construction and safe to
// share; a SeriesDetector is used by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "core/time.h"

namespace tocsin::detect {

struct Decision {
  double score = 0;  // anomaly score in [0,1]
  bool firing = false;
};

class SeriesDetector {
 public:
  virtual ~SeriesDetector() = default;
  // Samples arrive in timestamp order. O(1) amortised, no unbounded state.
  virtual Decision update(core::Timestamp ts, double value) = 0;
  // Starts loading what the next update() reads, for a caller that will feed this detector after
  // other work (the rule engine, RuleEngine::prefetch): a hint, with no effect on any result.
  // Only the detector's own memory: reading a pointer in it here would wait for the load.
  virtual void prefetch() const {}

  // Detectors that decide without a sample (e.g. `absent`: no data for a while) say when they
  // next want to be asked, and check(now) answers then. The rule engine calls check() at that
  // time if no sample came first.
  virtual std::optional<core::Timestamp> next_check() const { return std::nullopt; }
  virtual Decision check(core::Timestamp /*now*/) { return {}; }

  // The learned state as bytes, so a restart does not reset a baseline; restore() accepts what
  // snapshot() wrote (and rejects anything else with an error, leaving the state as it was).
  // Stateless detectors keep the defaults.
  virtual std::string snapshot() const { return {}; }
  virtual core::Status restore(std::string_view /*bytes*/) { return {}; }

  // The band [lower, upper] the next sample may fall in without firing (±infinity for an open
  // side), for plots and explanations; std::nullopt while the detector has none (e.g. warming up).
  virtual std::optional<std::pair<double, double>> bounds() const { return std::nullopt; }
};

class DetectorSpec {
 public:
  virtual ~DetectorSpec() = default;
  virtual std::unique_ptr<SeriesDetector> make() const = 0;
  virtual std::string describe() const = 0;  // e.g. "value > 0.9", for alerts and postmortems
};

using DetectorFactory = std::function<core::Result<std::unique_ptr<DetectorSpec>>(const config::DetectorConfig&)>;

class DetectorRegistry {
 public:
  void add(std::string kind, DetectorFactory factory);
  // Errors carry the position of the offending parameter.
  core::Result<std::unique_ptr<DetectorSpec>> create(const config::DetectorConfig& config) const;
  // Every detector built into this binary.
  static const DetectorRegistry& builtin();
  std::vector<std::string> kinds() const;

 private:
  std::map<std::string, DetectorFactory, std::less<>> factories_;
};

}  // namespace tocsin::detect
