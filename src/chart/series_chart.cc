#include "chart/series_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "chart/theme.h"
#include "chart/thin.h"
#include "core/time.h"
#include "core/xml.h"

namespace tocsin::chart {
namespace {

using core::xml_escape;

constexpr double kWidth = 1000;
constexpr double kLeft = 70, kRight = 20;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr double kHeader = 64;      // title, subtitle, legend
constexpr double kPanelTitle = 20;  // the panel's series name above its plot
constexpr double kPlotH = 160;
constexpr double kAxis = 26;  // time labels under the plot
constexpr double kPanelH = kPanelTitle + kPlotH + kAxis;
constexpr int kMaxTimeTicks = 8;

struct Frame {
  int64_t t0, t1;
  double top, lo, hi;
  double x(int64_t t) const {
    return kLeft + kPlotW * static_cast<double>(t - t0) / static_cast<double>(std::max<int64_t>(t1 - t0, 1));
  }
  double y(double v) const { return top + kPlotH * (1 - (v - lo) / (hi - lo)); }
  // y for a bound, held a little outside the plot (the clip path hides the rest).
  double bound_y(double v) const { return std::clamp(y(v), top - 10, top + kPlotH + 10); }
};

// The y range: the values, widened to show the bounds — but by at most the values' own range on
// each side, so a detector's wide warm-up band does not flatten the series.
std::pair<double, double> y_range(const SeriesPanel& p) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& pt : p.points) {
    lo = std::min(lo, pt.value);
    hi = std::max(hi, pt.value);
  }
  const double span = std::max(hi - lo, 1e-12 * std::max(1.0, std::fabs(hi)));
  double blo = lo, bhi = hi;
  for (const auto& pt : p.points) {
    for (const auto& b : {pt.lower, pt.upper}) {
      if (b && std::isfinite(*b)) {
        blo = std::min(blo, std::max(*b, lo - span));
        bhi = std::max(bhi, std::min(*b, hi + span));
      }
    }
  }
  lo = blo;
  hi = bhi;
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    lo -= 1;
    hi += 1;
  }
  const double pad = 0.06 * (hi - lo);
  return {lo - pad, hi + pad};
}

std::string panel_svg(const SeriesPanel& p, size_t index, double top, int64_t t0, int64_t t1) {
  std::string s;
  s +=
      fmt::format("<g>\n<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", kLeft, top - 6, xml_escape(p.title));
  s +=
      fmt::format("<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", kLeft, top, kPlotW, kPlotH);
  s += fmt::format("<clipPath id=\"clip{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", index,
                   kLeft, top, kPlotW, kPlotH);
  for (const auto& tick : time_ticks(t0, t1, kMaxTimeTicks)) {
    const Frame f{t0, t1, top, 0, 1};
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<text class=\"muted\" x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        f.x(tick.ms), top, top + kPlotH, top + kPlotH + 15, tick.label);
  }
  // Firing spans first, under the lines.
  const Frame fx{t0, t1, top, 0, 1};
  for (const FiringSpan& span : p.firing) {
    const int64_t a = std::max(span.start_ms, t0);
    const int64_t b = std::min(span.end_ms.value_or(t1), t1);
    if (b < a) continue;
    const double x0 = fx.x(a);
    s += fmt::format(
        "<rect class=\"firing\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"/>"
        "<line class=\"firing-edge\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke-width=\"1.5\"/>\n",
        x0, top, std::max(fx.x(b) - x0, 1.5), kPlotH, x0, x0, top, top + kPlotH);
  }
  if (p.points.empty()) {
    s += fmt::format(
        "<text class=\"muted\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no samples in this range</text>\n</g>\n",
        kLeft + kPlotW / 2, top + kPlotH / 2);
    return s;
  }
  const auto [lo, hi] = y_range(p);
  const Frame f{t0, t1, top, lo, hi};
  const double step = core::nice_step(hi - lo, 4);
  for (double v = std::ceil(lo / step) * step; v <= hi; v += step) {
    const double yy = f.y(v);
    s += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"muted\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft, kLeft + kPlotW, yy, yy, kLeft - 6, yy + 4, xml_escape(number_label(v, step)));
  }
  const auto& pts = p.points;
  const size_t max_points = 2 * static_cast<size_t>(kPlotW);
  auto ts = [&](size_t i) { return pts[i].ts_ms; };
  // The band: each side a path broken where the bound is unknown or open.
  for (int side = 0; side < 2; ++side) {
    auto bound = [&](size_t i) {
      const auto& b = side == 0 ? pts[i].lower : pts[i].upper;
      return b ? *b : std::numeric_limits<double>::quiet_NaN();
    };
    std::string d;
    bool pen = false;
    for (size_t i : thin_indices(pts.size(), max_points, ts, [&](size_t i) {
           const double v = bound(i);
           return std::isfinite(v) ? v : 0.0;
         })) {
      const double v = bound(i);
      if (!std::isfinite(v)) {
        pen = false;
        continue;
      }
      d += fmt::format("{}{:.1f},{:.1f}", pen ? " L" : (d.empty() ? "M" : " M"), f.x(pts[i].ts_ms), f.bound_y(v));
      pen = true;
    }
    if (!d.empty()) {
      s += fmt::format(
          "<path class=\"bound\" d=\"{}\" fill=\"none\" stroke-width=\"1\" stroke-dasharray=\"5 3\" "
          "clip-path=\"url(#clip{})\"/>\n",
          d, index);
    }
  }
  std::string d;
  for (size_t i : thin_indices(pts.size(), max_points, ts, [&](size_t i) { return pts[i].value; })) {
    d += fmt::format("{}{:.1f},{:.1f}", d.empty() ? "M" : " L", f.x(pts[i].ts_ms), f.y(pts[i].value));
  }
  s += fmt::format("<path class=\"c0\" d=\"{}\" fill=\"none\" stroke-width=\"1.4\" clip-path=\"url(#clip{})\"/>\n", d,
                   index);
  if (pts.size() == 1) {  // a lone sample: a dot, since a one-point path draws nothing
    s += fmt::format("<circle class=\"f0\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\"/>\n", f.x(pts[0].ts_ms),
                     f.y(pts[0].value));
  }
  s += "</g>\n";
  return s;
}

}  // namespace

std::string render_series_svg(const SeriesChart& chart) {
  const int64_t t0 = chart.start_ms;
  const int64_t t1 = std::max(chart.end_ms, chart.start_ms + 1);
  const size_t panels = std::max<size_t>(chart.panels.size(), 1);
  const double height = kHeader + kPanelTitle + static_cast<double>(panels) * kPanelH + (chart.note.empty() ? 0 : 20);
  size_t points = 0, spans = 0;
  for (const auto& p : chart.panels) {
    points += p.points.size();
    spans += p.firing.size();
  }
  std::string s =
      svg_open(kWidth, height, chart.title,
               fmt::format("{}. {} series, {} samples, {} firing span{}, from {} to {} (UTC).", chart.subtitle,
                           chart.panels.size(), points, spans, spans == 1 ? "" : "s",
                           core::format_rfc3339(core::from_unix_ms(t0)), core::format_rfc3339(core::from_unix_ms(t1))));
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", kLeft,
                   xml_escape(chart.title));
  s += fmt::format("<text class=\"muted\" x=\"{}\" y=\"40\">{}</text>\n", kLeft, xml_escape(chart.subtitle));
  // Legend.
  const double ly = 58, lx = kLeft;
  s += fmt::format(
      "<g>"
      "<line class=\"c0\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke-width=\"2\"/><text x=\"{3}\" "
      "y=\"{4}\">value</text>"
      "<line class=\"bound\" x1=\"{5}\" x2=\"{6}\" y1=\"{2}\" y2=\"{2}\" stroke-dasharray=\"5 3\"/><text x=\"{7}\" "
      "y=\"{4}\">bounds (not firing inside)</text>"
      "<rect class=\"firing\" x=\"{8}\" y=\"{9}\" width=\"14\" height=\"9\"/><text x=\"{10}\" y=\"{4}\">firing</text>"
      "<text class=\"muted\" x=\"{11}\" y=\"{4}\" text-anchor=\"end\">time (UTC)</text>"
      "</g>\n",
      lx, lx + 18, ly - 4, lx + 22, ly, lx + 70, lx + 88, lx + 92, lx + 245, ly - 9, lx + 263, kLeft + kPlotW);
  if (chart.panels.empty()) {
    s += fmt::format("<text class=\"muted\" x=\"{}\" y=\"{}\">no series match</text>\n", kLeft,
                     kHeader + kPanelTitle + 20);
  }
  for (size_t i = 0; i < chart.panels.size(); ++i) {
    s += panel_svg(chart.panels[i], i, kHeader + kPanelTitle + static_cast<double>(i) * kPanelH, t0, t1);
  }
  if (!chart.note.empty()) {
    s += fmt::format("<text class=\"muted\" x=\"{}\" y=\"{}\">{}</text>\n", kLeft, height - 8, xml_escape(chart.note));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace tocsin::chart
