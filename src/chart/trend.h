// Trend charts: a few named lines (or grouped bars) over period buckets — KPI trends (MTTA by
// week), drill scores by day. What GET /api/v1/drills/chart.svg draws, and what
// GET /api/v1/kpi/chart.svg is to draw.
//
// How to use it: fill a TrendChart and call render_trend_svg.
//   chart::TrendChart c;
//   c.title = "MTTA by week";
//   c.unit = chart::TrendUnit::kSeconds;             // ticks read 30s, 5m, 1h, 1d12h
//   c.buckets = {"2026-11-23", "2026-11-30"};        // x labels, oldest first
//   c.lines = {{"critical", {312.0, std::nullopt}},  // one value per bucket; nullopt = no data
//              {"major", {95.0, 140.0}}};
//   std::string svg = chart::render_trend_svg(c);
// Every line must have exactly one value per bucket (missing ones are nullopt, drawn as a gap in
// the line, or no bar); a NaN or infinite value is treated as nullopt. Each non-null value is
// also drawn as a dot, so a value between two gaps still shows.
//
// The SVG is self-contained (no scripts, no external resources), has a viewBox (scales on a
// phone), <title> and <desc> (the desc lists every value, for screen readers) and an embedded
// style sheet with a dark variant under @media (prefers-color-scheme: dark). Colours repeat after
// six lines, then dashed.
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tocsin::chart {

enum class TrendUnit {
  kNumber,   // plain numbers: 0, 25, 50
  kSeconds,  // durations in seconds, labelled 45s, 5m, 1h, 2d
  kRatio,    // 0..1, labelled as percent; the axis shows at least 0–100 %
};

enum class TrendStyle { kLines, kBars };

struct TrendLine {
  std::string name;                           // in the legend
  std::vector<std::optional<double>> values;  // one per bucket
};

struct TrendChart {
  std::string title;
  std::string subtitle;  // e.g. "mean score per day, plan system_crash"; may be empty
  TrendUnit unit = TrendUnit::kNumber;
  std::string y_label;               // e.g. "score"; may be empty
  std::vector<std::string> buckets;  // x labels, oldest first, e.g. "2026-11-30"
  std::vector<TrendLine> lines;
  TrendStyle style = TrendStyle::kLines;
};

std::string render_trend_svg(const TrendChart& chart);

// A value as its tick label says it: "5m" (seconds), "87.5%" (ratio), "42" (number).
std::string format_trend_value(double v, TrendUnit unit);

}  // namespace tocsin::chart
