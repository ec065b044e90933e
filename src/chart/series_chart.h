// A chart of one or more series over one time range, one panel per series: the values, the
// detector's band (lower and upper bound lines, broken where unknown, clipped where open) and
// the alert's firing spans shaded. What GET /api/v1/rules/{name}/chart.svg and
// GET /api/v1/series/chart.svg draw (docs/charts.md).
//
// The SVG is self-contained (no scripts, no external resources), has a viewBox so it scales to
// the width of a phone, <title>/<desc> for screen readers, and an embedded style sheet with a
// dark variant under @media (prefers-color-scheme: dark). Long series are thinned per pixel
// column (first, min, max and last kept: chart/thin.h), so size stays bounded and spikes stay.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tocsin::chart {

struct SeriesChartPoint {
  int64_t ts_ms = 0;  // unix milliseconds
  double value = 0;
  // The band the sample was judged against: nullopt = unknown (no bounds, or warming up);
  // ±infinity = that side is open.
  std::optional<double> lower;
  std::optional<double> upper;
};

struct FiringSpan {
  int64_t start_ms = 0;
  std::optional<int64_t> end_ms;  // nullopt: still firing (drawn to the chart's end)
};

struct SeriesPanel {
  std::string title;                     // e.g. the series' labels: cpu{instance="a"}
  std::vector<SeriesChartPoint> points;  // in time order
  std::vector<FiringSpan> firing;        // any order; clipped to the chart's range
};

struct SeriesChart {
  std::string title;     // e.g. "HighLoad"
  std::string subtitle;  // e.g. the detector's describe()
  int64_t start_ms = 0;  // the x range, shared by every panel
  int64_t end_ms = 0;
  std::vector<SeriesPanel> panels;
  std::string note;  // shown under the last panel, e.g. "3 more series not shown"; may be empty
};

std::string render_series_svg(const SeriesChart& chart);

}  // namespace tocsin::chart
