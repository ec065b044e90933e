#include "detect/builtin.h"
#include "detect/threshold/threshold.h"

namespace tocsin::detect {

void register_basic_detectors(DetectorRegistry& registry) { registry.add("threshold", make_threshold); }

}  // namespace tocsin::detect
