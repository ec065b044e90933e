// The `threshold` detector: fires while the value is above `above` and/or below `below`.
// Stateless per series. Score is 1 while firing, else 0.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_threshold(const config::DetectorConfig& config);

}  // namespace tocsin::detect
