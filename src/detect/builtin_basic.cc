#include "detect/absent/absent.h"
#include "detect/builtin.h"
#include "detect/ewma/ewma.h"
#include "detect/mad/mad.h"
#include "detect/sigma/sigma.h"
#include "detect/threshold/threshold.h"

namespace tocsin::detect {

void register_basic_detectors(DetectorRegistry& registry) {
  registry.add("threshold", make_threshold);
  registry.add("sigma", make_sigma);
  registry.add("ewma", make_ewma);
  registry.add("mad", make_mad);
  registry.add("absent", make_absent);
}

}  // namespace tocsin::detect
