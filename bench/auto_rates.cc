// How `auto` behaves on the same daily pattern at different sample steps (docs/detection.md,
// "Sample rate"): a daily swing of ±10 around 50 with noise of sd 0.5 for 10 days, then a day
// without the swing (a holiday, flat at 50), then the swing again. Prints, per step, whether the
// daily model is in use before the holiday, the alerts (rising edges of `firing`) in the 10
// normal days and in the 2 days from the holiday on, and how far into the holiday the detector
// dropped the daily model, if it did. Measured, not asserted:
//   ninja -C build tocsin_auto_rates && build/bench/tocsin_auto_rates
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <random>
#include <string>

#include "config/config.h"
#include "core/time.h"
#include "detect/detector.h"

namespace {

using namespace tocsin;

// auto's snapshot ends with 11 doubles (the 5th of them the model flag), the model choice's 3 and
// a 4-byte checksum: 1 while the seasonal model is in use.
double seasonal_flag(const std::string& snapshot) {
  constexpr size_t kAfterFlag = 6 * 8 + 3 * 8 + 4;
  double flag = -1;
  std::memcpy(&flag, snapshot.data() + snapshot.size() - kAfterFlag - 8, sizeof flag);
  return flag;
}

}  // namespace

int main() {
  config::DetectorConfig config;
  config.kind = "auto";
  config.pos = {"auto_rates", 1, 1};
  auto spec = detect::DetectorRegistry::builtin().create(config);
  if (!spec) {
    std::fprintf(stderr, "%s\n", spec.error().to_string().c_str());
    return 1;
  }
  std::printf("| step | daily model before | alerts in 10 normal days | alerts from the holiday on (2 days) | daily model dropped |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const int64_t step : {300, 60, 15}) {
    const int64_t per_day = 86400 / step;
    auto d = (*spec)->make();
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0, 0.5);
    auto pattern = [&](int64_t i) {
      return 50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(per_day)) +
             noise(rng);
    };
    const int64_t holiday = 10 * per_day;
    int64_t i = 0;
    int before = 0;
    bool was = false;
    for (; i < holiday; ++i) {
      const bool firing = d->update(core::from_unix_ms(i * step * 1000), pattern(i)).firing;
      before += firing && !was;
      was = firing;
    }
    const bool daily_before = seasonal_flag(d->snapshot()) == 1;
    int after = 0;
    int64_t dropped_at = -1;
    for (; i < holiday + 2 * per_day; ++i) {
      const double v = i < holiday + per_day ? 50 + noise(rng) : pattern(i);
      const bool firing = d->update(core::from_unix_ms(i * step * 1000), v).firing;
      after += firing && !was;
      was = firing;
      if (daily_before && dropped_at < 0 && seasonal_flag(d->snapshot()) != 1) dropped_at = i - holiday;
    }
    const std::string dropped =
        dropped_at < 0 ? "no" : std::to_string(static_cast<double>(dropped_at * step) / 3600).substr(0, 4) + " h in";
    std::printf("| %lld s | %s | %d | %d | %s |\n", static_cast<long long>(step), daily_before ? "yes" : "no", before,
                after, dropped.c_str());
  }
}
