// The `absent` detector: fires when no sample has arrived for `after` (a duration, required,
// e.g. `after: 5m`), like Prometheus' absent_over_time alerting.
//
// It decides without samples: next_check() is the last sample's time + after, and check(now)
// fires once now ≥ that (score 1). After that it asks for no further check until a sample comes;
// any sample clears it (update() returns score 0, not firing). Before the first sample there is
// nothing to miss (next_check() is empty). Values are ignored; a NaN sample still counts as
// arriving. Offline, a gap scores r²/(1 + r²) with r = gap/after when check() is asked earlier.
// State per series: the last sample's time and whether it fired; snapshot()/restore() keep both.
// Thread-safety: see detector.h.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_absent(const config::DetectorConfig& config);

}  // namespace tocsin::detect
