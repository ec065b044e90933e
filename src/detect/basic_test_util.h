// Helpers for the basic detectors' unit tests: detector configs as a YAML loader would build them
// (every parameter on its own line of "t.yaml", so errors can be checked for their line), and a
// clock of whole seconds. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "detect/detector.h"

namespace tocsin::detect::testing {

// Parameter i sits on line i + 2 of t.yaml (the detector itself on line 1).
inline config::DetectorConfig make_config(std::string kind, std::vector<std::pair<std::string, std::string>> params) {
  config::DetectorConfig c;
  c.kind = std::move(kind);
  c.pos = {"t.yaml", 1, 1};
  int line = 2;
  for (auto& [name, text] : params) {
    config::DetectorParam p;
    p.text = text;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) p.number = v;
    p.pos = {"t.yaml", line++, 5};
    c.params.emplace(name, std::move(p));
  }
  return c;
}

inline std::unique_ptr<DetectorSpec> make_spec(std::string kind, std::vector<std::pair<std::string, std::string>> params) {
  auto spec = DetectorRegistry::builtin().create(make_config(std::move(kind), std::move(params)));
  EXPECT_TRUE(spec.has_value()) << spec.error().to_string();
  return spec ? std::move(*spec) : nullptr;
}

// The error a bad config gives, as "LINE: MESSAGE", for compact expectations.
inline std::string config_error(std::string kind, std::vector<std::pair<std::string, std::string>> params) {
  auto spec = DetectorRegistry::builtin().create(make_config(std::move(kind), std::move(params)));
  if (spec) return "no error";
  return std::to_string(spec.error().position().line) + ": " + spec.error().message();
}

inline core::Timestamp at_s(int64_t seconds) { return core::from_unix_ms(seconds * 1000); }

// A copy of a detector's learned state in a fresh detector of the same spec.
inline std::unique_ptr<SeriesDetector> clone(const DetectorSpec& spec, const SeriesDetector& d) {
  auto copy = spec.make();
  const auto st = copy->restore(d.snapshot());
  EXPECT_TRUE(st.has_value()) << st.error().to_string();
  return copy;
}

// Garbage and foreign snapshots are rejected, and a rejected restore changes nothing.
inline void expect_rejects_garbage(const DetectorSpec& spec, SeriesDetector& d, core::Timestamp next_ts, double next_value) {
  auto reference = clone(spec, d);
  std::string good = d.snapshot();
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5a);
  std::string truncated = good.substr(0, good.size() - 1);
  for (const std::string& bad : {std::string(), std::string("garbage"), std::string(64, '\xff'), flipped, truncated,
                                 good + "x", std::string("zzz1\x01") + good.substr(5)}) {
    EXPECT_FALSE(d.restore(bad).has_value()) << "accepted " << bad.size() << " bytes";
  }
  const Decision a = d.update(next_ts, next_value);
  const Decision b = reference->update(next_ts, next_value);
  EXPECT_EQ(a.firing, b.firing);
  EXPECT_NEAR(a.score, b.score, 1e-9);  // a restored window re-sums exactly; running sums may differ in the last bits
}

}  // namespace tocsin::detect::testing
