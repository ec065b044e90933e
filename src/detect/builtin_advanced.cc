#include "detect/auto/auto.h"
#include "detect/builtin.h"
#include "detect/changepoint/changepoint.h"
#include "detect/seasonal/seasonal.h"

namespace tocsin::detect {

void register_advanced_detectors(DetectorRegistry& registry) {
  registry.add("seasonal", make_seasonal);
  registry.add("changepoint", make_changepoint);
  registry.add("auto", make_auto);
}

}  // namespace tocsin::detect
