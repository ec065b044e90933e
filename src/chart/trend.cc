#include "chart/trend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "chart/theme.h"
#include "core/xml.h"

namespace tocsin::chart {
namespace {

using core::xml_escape;

constexpr double kWidth = 800;
constexpr double kLeft = 70, kRight = 24;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr double kLegendRowH = 16;
constexpr double kPlotH = 220;
constexpr double kXAxisH = 40;

std::optional<double> value_at(const TrendLine& line, size_t i) {
  if (i >= line.values.size() || !line.values[i] || !std::isfinite(*line.values[i])) return std::nullopt;
  return line.values[i];
}

std::string tick_label(double v, double step, TrendUnit unit) {
  switch (unit) {
    case TrendUnit::kSeconds:
      return humanize_seconds(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    case TrendUnit::kRatio:
      return number_label(v * 100, step * 100) + "%";
    case TrendUnit::kNumber:
      return number_label(v, step);
  }
  return "";
}

}  // namespace

std::string format_trend_value(double v, TrendUnit unit) {
  switch (unit) {
    case TrendUnit::kSeconds:
      return humanize_seconds(v);
    case TrendUnit::kRatio:
      return fmt::format("{:.3g}%", v * 100);
    case TrendUnit::kNumber:
      return fmt::format("{:.6g}", v);
  }
  return "";
}

std::string render_trend_svg(const TrendChart& chart) {
  const size_t nb = chart.buckets.size();
  // Legend rows: as many entries per row as fit at ~150 px each.
  const size_t per_row = 5;
  const size_t legend_rows = std::max<size_t>((chart.lines.size() + per_row - 1) / per_row, 1);
  const double top = 52 + static_cast<double>(legend_rows) * kLegendRowH;
  const double height = top + kPlotH + kXAxisH;

  // Accessible description: every value, bucket by bucket.
  std::string desc = chart.subtitle.empty() ? "" : chart.subtitle + ". ";
  size_t values = 0;
  for (const auto& line : chart.lines) {
    desc += fmt::format("{}:", line.name);
    for (size_t i = 0; i < nb; ++i) {
      if (auto v = value_at(line, i)) {
        desc += fmt::format(" {} {};", chart.buckets[i], format_trend_value(*v, chart.unit));
        ++values;
      }
    }
    desc += " ";
  }
  if (values == 0) desc += "No data.";
  std::string s = svg_open(kWidth, height, chart.title, desc);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", kLeft,
                   xml_escape(chart.title));
  if (!chart.subtitle.empty()) {
    s += fmt::format("<text class=\"muted\" x=\"{}\" y=\"40\">{}</text>\n", kLeft, xml_escape(chart.subtitle));
  }
  for (size_t k = 0; k < chart.lines.size(); ++k) {
    const double lx = kLeft + static_cast<double>(k % per_row) * 150;
    const double ly = 58 + static_cast<double>(k / per_row) * kLegendRowH;
    const int c = static_cast<int>(k % kPaletteSize);
    s += fmt::format(
        "<line class=\"c{0}\" x1=\"{1}\" x2=\"{2}\" y1=\"{3}\" y2=\"{3}\" stroke-width=\"2.5\"{4}/>"
        "<text x=\"{5}\" y=\"{6}\">{7}</text>\n",
        c, lx, lx + 18, ly - 4, line_dash(k), lx + 22, ly, xml_escape(chart.lines[k].name));
  }
  s +=
      fmt::format("<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", kLeft, top, kPlotW, kPlotH);
  if (values == 0) {
    s += fmt::format("<text class=\"muted\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data</text>\n</svg>\n",
                     kLeft + kPlotW / 2, top + kPlotH / 2);
    return s;
  }

  // y range: from zero (or below, for negative values) to the largest value; ratios show 0–100 %.
  double lo = 0, hi = chart.unit == TrendUnit::kRatio ? 1.0 : -std::numeric_limits<double>::infinity();
  for (const auto& line : chart.lines) {
    for (size_t i = 0; i < nb; ++i) {
      if (auto v = value_at(line, i)) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
      }
    }
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) hi = lo + 1;
  const double step = chart.unit == TrendUnit::kSeconds ? nice_seconds_step(hi - lo, 5) : core::nice_step(hi - lo, 5);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  auto y = [&](double v) { return top + kPlotH * (1 - (v - lo) / (hi - lo)); };
  for (double v = lo; v <= hi + step * 1e-9; v += step) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"muted\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft, kLeft + kPlotW, y(v), y(v), kLeft - 6, y(v) + 4, xml_escape(tick_label(v, step, chart.unit)));
  }
  if (!chart.y_label.empty()) {
    s += fmt::format(
        "<text class=\"muted\" x=\"14\" y=\"{0}\" transform=\"rotate(-90 14 {0})\" text-anchor=\"middle\">{1}</text>\n",
        top + kPlotH / 2, xml_escape(chart.y_label));
  }
  // x: one slot per bucket; labels thinned to about 10 so they do not overlap.
  const double slot = kPlotW / static_cast<double>(std::max<size_t>(nb, 1));
  auto x = [&](size_t i) { return kLeft + slot * (static_cast<double>(i) + 0.5); };
  const size_t label_every = std::max<size_t>((nb + 9) / 10, 1);
  for (size_t i = 0; i < nb; ++i) {
    if (i % label_every != 0) continue;
    s += fmt::format("<text class=\"muted\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x(i),
                     top + kPlotH + 16, xml_escape(chart.buckets[i]));
  }

  if (chart.style == TrendStyle::kBars) {
    const double group = slot * 0.8;
    const double bar = group / static_cast<double>(std::max<size_t>(chart.lines.size(), 1));
    const double base = y(std::clamp(0.0, lo, hi));
    for (size_t k = 0; k < chart.lines.size(); ++k) {
      for (size_t i = 0; i < nb; ++i) {
        auto v = value_at(chart.lines[k], i);
        if (!v) continue;
        const double bx = x(i) - group / 2 + bar * static_cast<double>(k);
        const double by = std::min(y(*v), base);
        s += fmt::format(
            "<rect class=\"f{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{}: {} "
            "{}</title></rect>\n",
            k % kPaletteSize, bx, by, std::max(bar - 1, 1.0), std::max(std::fabs(base - y(*v)), 1.0),
            xml_escape(chart.lines[k].name), xml_escape(chart.buckets[i]),
            xml_escape(format_trend_value(*v, chart.unit)));
      }
    }
  } else {
    for (size_t k = 0; k < chart.lines.size(); ++k) {
      const auto& line = chart.lines[k];
      std::string d;
      bool pen = false;
      for (size_t i = 0; i < nb; ++i) {
        auto v = value_at(line, i);
        if (!v) {
          pen = false;  // a gap: the next value starts a new sub-path
          continue;
        }
        d += fmt::format("{}{:.1f},{:.1f}", pen ? " L" : (d.empty() ? "M" : " M"), x(i), y(*v));
        pen = true;
      }
      s += fmt::format("<path class=\"c{}\" d=\"{}\" fill=\"none\" stroke-width=\"2\"{}/>\n", k % kPaletteSize, d,
                       line_dash(k));
      for (size_t i = 0; i < nb; ++i) {
        if (auto v = value_at(line, i)) {
          s += fmt::format(
              "<circle class=\"f{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\"><title>{}: {} {}</title></circle>\n",
              k % kPaletteSize, x(i), y(*v), xml_escape(line.name), xml_escape(chart.buckets[i]),
              xml_escape(format_trend_value(*v, chart.unit)));
        }
      }
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace tocsin::chart
