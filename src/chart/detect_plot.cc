#include "chart/detect_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>

#include "chart/theme.h"
#include "chart/thin.h"
#include "core/xml.h"

namespace tocsin::chart {
namespace {

constexpr double kWidth = 1100, kHeight = 560;
constexpr double kLeft = 70, kRight = 20;
constexpr double kTopY = 56, kTopH = 310;      // values panel
constexpr double kScoreY = 400, kScoreH = 110;  // score panel
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr int kMaxTimeTicks = 8;

using core::xml_escape;

using core::nice_step;

class Canvas {
 public:
  Canvas(int64_t t0, int64_t t1, double lo, double hi) : t0_(t0), t1_(t1), lo_(lo), hi_(hi) {}
  double x(int64_t t) const {
    return kLeft + kPlotW * static_cast<double>(t - t0_) / static_cast<double>(std::max<int64_t>(t1_ - t0_, 1));
  }
  double y(double v) const { return kTopY + kTopH * (1 - (v - lo_) / (hi_ - lo_)); }
  static double score_y(double s) { return kScoreY + kScoreH * (1 - std::clamp(s, 0.0, 1.0)); }
  // y for a bound, clamped a little outside the panel (the clip path hides the rest).
  double bound_y(double v) const { return std::clamp(y(v), kTopY - 10, kTopY + kTopH + 10); }

 private:
  int64_t t0_, t1_;
  double lo_, hi_;
};

// Indices to draw: all of them when there are few, else first/min/max/last per pixel column.
template <class Key>
std::vector<size_t> thin(const std::vector<ScoredPoint>& pts, const Canvas& c, Key key) {
  if (pts.size() <= 2 * static_cast<size_t>(kPlotW)) {
    std::vector<size_t> out(pts.size());
    for (size_t i = 0; i < pts.size(); ++i) out[i] = i;
    return out;
  }
  return thin_by_column(
      pts.size(), [&](size_t i) { return static_cast<int>(c.x(core::to_unix_ms(pts[i].ts))); },
      [&](size_t i) { return key(pts[i]); });
}

std::string polyline(const std::vector<size_t>& idx, auto&& point) {
  std::string d;
  for (size_t k = 0; k < idx.size(); ++k) {
    const auto [px, py] = point(idx[k]);
    d += fmt::format("{}{:.1f},{:.1f}", k == 0 ? "M" : " L", px, py);
  }
  return d;
}

}  // namespace

std::string render_detect_svg(const DetectPlot& plot) {
  const auto& pts = plot.points;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{3}</text>\n"
      "<text x=\"{2}\" y=\"38\" fill=\"#444\">{4}</text>\n",
      kWidth, kHeight, kLeft, xml_escape(plot.title), xml_escape(plot.subtitle));
  if (pts.empty()) {
    s += fmt::format("<text x=\"{}\" y=\"{}\">no samples</text>\n<path d=\"M0,0\"/>\n</svg>\n", kLeft, kTopY + 20);
    return s;
  }
  const int64_t t0 = core::to_unix_ms(pts.front().ts), t1 = core::to_unix_ms(pts.back().ts);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& p : pts) {
    lo = std::min(lo, p.value);
    hi = std::max(hi, p.value);
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    lo -= 1;
    hi += 1;
  }
  const double pad = 0.06 * (hi - lo);
  lo -= pad;
  hi += pad;
  const Canvas c(t0, t1, lo, hi);

  s += fmt::format("<defs><clipPath id=\"top\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\n",
                   kLeft, kTopY, kPlotW, kTopH);
  // Panels and horizontal grid.
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft, kTopY,
                   kPlotW, kTopH);
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft, kScoreY,
                   kPlotW, kScoreH);
  const double step = nice_step(hi - lo, 5);
  for (double v = std::ceil(lo / step) * step; v <= hi; v += step) {
    const double yy = c.y(v);
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>"
                     "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                     kLeft, kLeft + kPlotW, yy, yy, kLeft - 6, yy + 4, xml_escape(fmt::format("{:.6g}", std::fabs(v) < step * 1e-9 ? 0.0 : v)));
  }
  for (double v : {0.0, 0.5, 1.0}) {
    const double yy = Canvas::score_y(v);
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"{}/>"
                     "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                     kLeft, kLeft + kPlotW, yy, yy, v == 0.5 ? " stroke-dasharray=\"4 3\"" : "", kLeft - 6, yy + 4, v);
  }
  s += fmt::format("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">value</text>\n",
                   kTopY + kTopH / 2, kTopY + kTopH / 2);
  s += fmt::format("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">score</text>\n",
                   kScoreY + kScoreH / 2, kScoreY + kScoreH / 2);

  // Time axis: the smallest round step that gives at most kMaxTimeTicks ticks.
  for (const TimeTick& tick : time_ticks(t0, t1, kMaxTimeTicks)) {
    const double xx = c.x(tick.ms);
    s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#eee\"/>"
                     "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{3}\" y2=\"{4}\" stroke=\"#eee\"/>"
                     "<text x=\"{0:.1f}\" y=\"{5}\" text-anchor=\"middle\">{6}</text>\n",
                     xx, kTopY, kTopY + kTopH, kScoreY, kScoreY + kScoreH, kScoreY + kScoreH + 16, tick.label);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">time (UTC)</text>\n", kLeft + kPlotW,
                   kScoreY + kScoreH + 34);

  // Firing spans, shaded in both panels: from the first firing sample to the next quiet one.
  for (size_t i = 0; i < pts.size();) {
    if (!pts[i].firing) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < pts.size() && pts[i].firing) ++i;
    const double x0 = c.x(core::to_unix_ms(pts[start].ts));
    const double x1 = i < pts.size() ? c.x(core::to_unix_ms(pts[i].ts)) : c.x(t1);
    const double w = std::max(x1 - x0, 1.5);
    s += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#e53935\" fill-opacity=\"0.18\"/>"
                     "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#e53935\" fill-opacity=\"0.18\"/>\n",
                     x0, kTopY, w, kTopH, x0, kScoreY, w, kScoreH);
  }

  // The non-firing band: upper and lower bound lines, broken where a side is open or unknown.
  for (int side = 0; side < 2; ++side) {
    std::string d;
    bool pen = false;
    const auto idx = thin(pts, c, [&](const ScoredPoint& p) {
      if (!p.bounds) return 0.0;
      return side == 0 ? p.bounds->first : p.bounds->second;
    });
    for (size_t i : idx) {
      const auto& b = pts[i].bounds;
      const double v = !b ? NAN : side == 0 ? b->first : b->second;
      if (!std::isfinite(v)) {
        pen = false;
        continue;
      }
      d += fmt::format("{}{:.1f},{:.1f}", pen ? " L" : (d.empty() ? "M" : " M"), c.x(core::to_unix_ms(pts[i].ts)),
                       c.bound_y(v));
      pen = true;
    }
    if (!d.empty()) {
      s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#7b7b7b\" stroke-width=\"1\" stroke-dasharray=\"5 3\" "
                       "clip-path=\"url(#top)\"/>\n", d);
    }
  }

  // The series and the score.
  const auto vidx = thin(pts, c, [](const ScoredPoint& p) { return p.value; });
  s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#1e63c4\" stroke-width=\"1.2\" clip-path=\"url(#top)\"/>\n",
                   polyline(vidx, [&](size_t i) {
                     return std::pair{c.x(core::to_unix_ms(pts[i].ts)), c.y(pts[i].value)};
                   }));
  const auto sidx = thin(pts, c, [](const ScoredPoint& p) { return p.score; });
  s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#ef6c00\" stroke-width=\"1\"/>\n",
                   polyline(sidx, [&](size_t i) {
                     return std::pair{c.x(core::to_unix_ms(pts[i].ts)), Canvas::score_y(pts[i].score)};
                   }));

  // Legend.
  const double ly = kTopY - 6;
  const double lx = kLeft + kPlotW - 400;
  s += fmt::format(
      "<g font-size=\"11\">"
      "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#1e63c4\" stroke-width=\"2\"/><text x=\"{3}\" y=\"{4}\">value</text>"
      "<line x1=\"{5}\" x2=\"{6}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#7b7b7b\" stroke-dasharray=\"5 3\"/><text x=\"{7}\" y=\"{4}\">bounds</text>"
      "<rect x=\"{8}\" y=\"{9}\" width=\"14\" height=\"9\" fill=\"#e53935\" fill-opacity=\"0.3\"/><text x=\"{10}\" y=\"{4}\">firing</text>"
      "<line x1=\"{11}\" x2=\"{12}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#ef6c00\" stroke-width=\"2\"/><text x=\"{13}\" y=\"{4}\">anomaly score</text>"
      "</g>\n",
      lx, lx + 18, ly - 4, lx + 22, ly, lx + 70, lx + 88, lx + 92, lx + 150, ly - 9, lx + 168, lx + 220, lx + 238, lx + 242);
  s += "</svg>\n";
  return s;
}

}  // namespace tocsin::chart
