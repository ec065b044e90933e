// A sample of a time series: the value layers hand each other from ingestion to detection.
// The metric name is the `__name__` label.
#pragma once

#include "core/labels.h"
#include "core/time.h"

namespace tocsin::core {

struct Sample {
  Labels labels;
  double value = 0;
  Timestamp ts{};
};

}  // namespace tocsin::core
