// What `tocsin detect --plot` draws (moved here from cli/; its bytes are pinned by a test).
// A self-contained SVG picture (no scripts, no external resources) of one series run through a
// detector: the values with the detector's non-firing band, the firing spans shaded, and the
// anomaly score in a lower panel; UTC time labels on the x axis. Long series are thinned per pixel
// column (first, min, max and last of each column are kept), so the file size stays bounded and
// spikes stay visible.
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"

namespace tocsin::chart {

struct ScoredPoint {
  core::Timestamp ts;
  double value = 0;
  double score = 0;
  bool firing = false;
  std::optional<std::pair<double, double>> bounds;  // the band this sample was judged against
};

struct DetectPlot {
  std::string title;     // e.g. "sigma on cpu.csv"
  std::string subtitle;  // e.g. the detector's describe()
  std::vector<ScoredPoint> points;  // in time order
};

std::string render_detect_svg(const DetectPlot& plot);

}  // namespace tocsin::chart
