// What the `auto` unit tests and bench/auto_rates.cc share, so that each is written once: where
// the detector's snapshot keeps the parts they read, and the holiday scenario both run. Not used
// by the detector itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <random>
#include <string_view>

#include "core/time.h"
#include "detect/detector.h"

namespace tocsin::detect::auto_test {

// The end of a snapshot (auto.cc, snapshot()): the four histograms (each its total, weight and 64
// bins, as doubles), then 11 doubles of state (the 5th of them the model flag), the model choice's
// 3 and the 4-byte checksum.
inline constexpr size_t kHistogramBytes = 66 * 8;
inline constexpr size_t kHistogramsBytes = 4 * kHistogramBytes;
inline constexpr size_t kTrailerBytes = 11 * 8 + 3 * 8 + 4;  // after the histograms

// The 11 doubles of state after the histograms: which of them is what.
inline constexpr size_t kSeasonalFlag = 4;     // 1 while the seasonal model is in use, 0 otherwise
inline constexpr size_t kAverageSurprise = 5;  // the average of the samples' surprises

// State double `index` (kSeasonalFlag, ...) of a snapshot.
inline double state_at(std::string_view snapshot, size_t index) {
  double v = -1;
  std::memcpy(&v, snapshot.data() + snapshot.size() - kTrailerBytes + index * 8, sizeof v);
  return v;
}

// Which model the detector uses: 1 while the seasonal model is in use, 0 otherwise.
inline double seasonal_flag(std::string_view snapshot) { return state_at(snapshot, kSeasonalFlag); }

// A daily swing of ±10 around 50 with noise of sd 0.5 for 10 days, then a day without the swing
// (a holiday, flat at 50), then the swing again for a day, one sample every `step_s` seconds.
struct HolidayRun {
  int normal_alerts = 0;     // firing samples in the 10 normal days
  bool daily_before = false;  // the seasonal model in use when the holiday starts
  int holiday_alerts = 0;    // firing samples from the holiday on (2 days)
  int64_t dropped_at = -1;   // samples into the holiday when the seasonal model was dropped, or -1
};

inline HolidayRun run_holiday(const DetectorSpec& spec, int64_t step_s) {
  const int64_t per_day = 86400 / step_s;
  auto d = spec.make();
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.5);
  auto swing = [&](int64_t i) {
    return 50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(per_day)) +
           noise(rng);
  };
  const int64_t holiday = 10 * per_day;
  HolidayRun run;
  int64_t i = 0;
  for (; i < holiday; ++i) run.normal_alerts += d->update(core::from_unix_ms(i * step_s * 1000), swing(i)).firing;
  run.daily_before = seasonal_flag(d->snapshot()) == 1;
  for (; i < holiday + 2 * per_day; ++i) {
    const double v = i < holiday + per_day ? 50 + noise(rng) : swing(i);
    run.holiday_alerts += d->update(core::from_unix_ms(i * step_s * 1000), v).firing;
    if (run.daily_before && run.dropped_at < 0 && seasonal_flag(d->snapshot()) != 1) run.dropped_at = i - holiday;
  }
  return run;
}

}  // namespace tocsin::detect::auto_test
