#include "detect/builtin.h"

namespace tocsin::detect {

void register_advanced_detectors(DetectorRegistry&) {}

}  // namespace tocsin::detect
