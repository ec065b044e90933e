// Where the detectors built into this binary register themselves. Adding a detector adds a line
// to one of these functions; the rule engine never changes.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

// threshold, sigma, ewma, mad, absent (builtin_basic.cc)
void register_basic_detectors(DetectorRegistry& registry);
// seasonal, changepoint, auto (builtin_advanced.cc)
void register_advanced_detectors(DetectorRegistry& registry);

}  // namespace tocsin::detect
