// How `auto` behaves on the same daily pattern at different sample steps (docs/detection.md,
// "Sample rate"): the holiday scenario of src/detect/auto/test_scenario.h (a daily swing for 10
// days, a day without it, the swing again), which the unit test
// Auto.TheSamePatternAlertsAlikeAtAnySampleInterval asserts on. Prints, per step, whether the
// daily model is in use before the holiday, the firing samples in the 10 normal days and in the
// 2 days from the holiday on, and how far into the holiday the detector dropped the daily model,
// if it did. Measured, not asserted:
//   ninja -C build tocsin_auto_rates && build/bench/tocsin_auto_rates
#include <cstdint>
#include <cstdio>
#include <string>

#include "config/config.h"
#include "detect/auto/test_scenario.h"
#include "detect/detector.h"

int main() {
  using namespace tocsin;
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
    const auto run = detect::auto_test::run_holiday(**spec, step);
    const std::string dropped =
        run.dropped_at < 0 ? "no"
                           : std::to_string(static_cast<double>(run.dropped_at * step) / 3600).substr(0, 4) + " h in";
    std::printf("| %lld s | %s | %d | %d | %s |\n", static_cast<long long>(step), run.daily_before ? "yes" : "no",
                run.normal_alerts, run.holiday_alerts, dropped.c_str());
  }
}
