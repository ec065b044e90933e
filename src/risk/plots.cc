#include "risk/plots.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

#include "core/xml.h"

namespace tocsin::risk {
namespace {

using core::Error;
using core::xml_escape;

// Point colours per class, cycled past eight: the Okabe–Ito palette, which stays distinguishable
// with the common colour-vision deficiencies (the first three — blue, orange, bluish green — to
// all of them); the regions behind are the same hues at 30 % on white.
constexpr std::array<std::string_view, 8> kInk = {"#0072b2", "#e69f00", "#009e73", "#d55e00",
                                                  "#cc79a7", "#56b4e9", "#f0e442", "#000000"};
constexpr std::array<std::string_view, 8> kTint = {"#b2d5e8", "#f8e2b2", "#b2e2d5", "#f2cfb2",
                                                   "#f0d7e5", "#cce8f8", "#faf7c6", "#b2b2b2"};
constexpr std::string_view kUnknownInk = "#ffffff";  // a label the model never saw: a hollow dot

std::string_view ink(size_t cls) { return kInk[cls % kInk.size()]; }
std::string_view tint(size_t cls) { return kTint[cls % kTint.size()]; }

using core::nice_step;

std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-9) v = 0;
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fmt::format("{:.{}f}", v, decimals);
}

std::string svg_open(double width, double height, std::string_view title) {
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height);
  s += fmt::format("<title>{}</title>\n", xml_escape(title));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{:.0f}\" height=\"{:.0f}\" fill=\"#ffffff\"/>\n", width, height);
  s += fmt::format("<text x=\"{:.1f}\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
                   width / 2, xml_escape(title));
  return s;
}

// White to dark blue by share in [0, 1].
std::string shade(double share) {
  share = std::clamp(share, 0.0, 1.0);
  auto mix = [&](int from, int to) { return static_cast<int>(std::lround(from + (to - from) * share)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(0xff, 0x08), mix(0xff, 0x30), mix(0xff, 0x6b));
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string mode(const Column& col) {
  std::map<std::string, size_t> counts;
  for (const auto& t : col.texts)
    if (!t.empty()) ++counts[t];
  std::string best;
  size_t best_n = 0;
  for (const auto& [t, n] : counts)  // ties: the first in sorted order
    if (n > best_n) best = t, best_n = n;
  return best;
}

core::Result<size_t> numeric_feature(const Model& model, const Table& data, std::string_view name) {
  auto f = std::find_if(model.schema.features.begin(), model.schema.features.end(), [&](const Feature& x) { return x.name == name; });
  if (f == model.schema.features.end()) {
    std::vector<std::string> names;
    for (const auto& x : model.schema.features) names.push_back(x.name);
    return std::unexpected(Error::invalid_argument(
        fmt::format("unknown feature '{}' (the model's features: {})", name, fmt::join(names, ", "))));
  }
  if (f->kind != ColumnKind::kNumeric)
    return std::unexpected(Error::invalid_argument(fmt::format("feature '{}' is categorical; plot two numeric features", name)));
  const size_t col = TOCSIN_TRY(data.require(name));
  if (data.columns[col].kind != ColumnKind::kNumeric)
    return std::unexpected(Error::invalid_argument(fmt::format("{}: column '{}' is not numeric", data.source, name)));
  return col;
}

}  // namespace

std::string confusion_svg(const std::vector<std::string>& classes, const std::vector<std::vector<size_t>>& confusion,
                          std::string_view title) {
  const size_t n = classes.size();
  size_t longest = 4;
  for (const auto& c : classes) longest = std::max(longest, c.size());
  const double label_w = std::min(220.0, 7.5 * static_cast<double>(longest) + 16);
  const double cell = n <= 4 ? 90 : n <= 8 ? 64 : 44;
  const double grid_x = 40 + label_w, grid_y = 96;
  // Wide enough for the title (about 9 px a character at 16 px bold) and the footnote.
  const double width = std::max({grid_x + cell * static_cast<double>(n) + 40, 9.0 * static_cast<double>(title.size()) + 40,
                                 grid_x + 400});
  const double height = grid_y + cell * static_cast<double>(n) + 60;
  std::string s = svg_open(width, height, title);
  const double grid_w = cell * static_cast<double>(n);
  // Axis titles: predicted across the top, true down the left.
  s += fmt::format("<text x=\"{:.1f}\" y=\"54\" text-anchor=\"middle\" font-weight=\"bold\">predicted class</text>\n",
                   grid_x + grid_w / 2);
  s += fmt::format(
      "<text x=\"16\" y=\"{0:.1f}\" text-anchor=\"middle\" font-weight=\"bold\" transform=\"rotate(-90 16 {0:.1f})\">true "
      "class</text>\n",
      grid_y + grid_w / 2);
  for (size_t j = 0; j < n; ++j) {
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     grid_x + cell * (static_cast<double>(j) + 0.5), grid_y - 10, xml_escape(classes[j]));
  }
  for (size_t i = 0; i < n; ++i) {
    const double y = grid_y + cell * static_cast<double>(i);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", grid_x - 8, y + cell / 2 + 4,
                     xml_escape(classes[i]));
    size_t row_total = 0;
    for (size_t j = 0; j < n; ++j) row_total += i < confusion.size() && j < confusion[i].size() ? confusion[i][j] : 0;
    for (size_t j = 0; j < n; ++j) {
      const size_t count = i < confusion.size() && j < confusion[i].size() ? confusion[i][j] : 0;
      const double share = row_total ? static_cast<double>(count) / static_cast<double>(row_total) : 0;
      const double x = grid_x + cell * static_cast<double>(j);
      s += fmt::format(
          "<rect class=\"cell\" data-true=\"{}\" data-predicted=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
          "height=\"{:.1f}\" fill=\"{}\" stroke=\"#888888\"/>\n",
          xml_escape(classes[i]), xml_escape(classes[j]), x, y, cell, cell, shade(share));
      s += fmt::format(
          "<text class=\"count\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"{}\"{}>{}</text>\n",
          x + cell / 2, y + cell / 2 + 5, cell >= 64 ? 16 : 12, share > 0.5 ? "#ffffff" : "#000000",
          i == j ? " font-weight=\"bold\"" : "", count);
    }
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#555555\">cells shaded by count / row total (recall on the diagonal)</text>\n",
                   grid_x, grid_y + grid_w + 28);
  s += "</svg>\n";
  return s;
}

core::Result<std::pair<std::string, std::string>> default_region_features(const Schema& schema) {
  std::vector<std::string> numeric;
  for (const auto& f : schema.features)
    if (f.kind == ColumnKind::kNumeric) numeric.push_back(f.name);
  if (numeric.size() < 2)
    return std::unexpected(Error::invalid_argument("the model has fewer than two numeric features to plot"));
  return std::pair{numeric[0], numeric[1]};
}

core::Result<std::string> decision_regions_svg(const Model& model, const Table& data, std::string_view x_feature,
                                               std::string_view y_feature, std::string_view label_column) {
  const size_t label_col = TOCSIN_TRY(data.require(label_column));
  const size_t xc = TOCSIN_TRY(numeric_feature(model, data, x_feature));
  const size_t yc = TOCSIN_TRY(numeric_feature(model, data, y_feature));
  if (xc == yc) return std::unexpected(Error::invalid_argument("plot two different features"));
  const auto& xs = data.columns[xc].numbers;
  const auto& ys = data.columns[yc].numbers;
  const Column& labels = data.columns[label_col];

  // The points: rows with both features and a label.
  struct Point { double x, y; std::string label; int cls; };
  std::vector<Point> points;
  const auto& classes = model.schema.classes;
  for (size_t r = 0; r < data.rows(); ++r) {
    if (std::isnan(xs[r]) || std::isnan(ys[r]) || labels.missing(r)) continue;
    std::string label = labels.text(r);
    auto it = std::find(classes.begin(), classes.end(), label);
    points.push_back({xs[r], ys[r], std::move(label), it == classes.end() ? -1 : static_cast<int>(it - classes.begin())});
  }
  if (points.empty())
    return std::unexpected(Error::invalid_argument(fmt::format("{}: no row has '{}', '{}' and '{}'", data.source, x_feature,
                                                               y_feature, label_column)));
  double x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  auto pad = [](double& lo, double& hi) {
    const double span = hi - lo;
    if (span <= 0) { lo -= 1, hi += 1; return; }
    lo -= span * 0.05, hi += span * 0.05;
  };
  pad(x0, x1);
  pad(y0, y1);

  // The grid to predict: x and y vary, every other feature held at the data's median / mode.
  Table grid;
  grid.source = "<decision-region grid>";
  const size_t cells = static_cast<size_t>(kRegionColumns) * kRegionRows;
  for (const auto& f : model.schema.features) {
    Column col;
    col.name = f.name;
    col.kind = f.kind;
    if (f.name == x_feature || f.name == y_feature) {
      col.numbers.resize(cells);
      for (int gy = 0; gy < kRegionRows; ++gy)
        for (int gx = 0; gx < kRegionColumns; ++gx) {
          const double v = f.name == x_feature ? x0 + (x1 - x0) * (gx + 0.5) / kRegionColumns
                                               : y1 - (y1 - y0) * (gy + 0.5) / kRegionRows;  // row 0 at the top
          col.numbers[static_cast<size_t>(gy) * kRegionColumns + gx] = v;
        }
    } else {
      auto c = data.find(f.name);
      if (f.kind == ColumnKind::kNumeric) {
        std::vector<double> present;
        if (c && data.columns[*c].kind == ColumnKind::kNumeric)
          for (double v : data.columns[*c].numbers)
            if (!std::isnan(v)) present.push_back(v);
        col.numbers.assign(cells, median(std::move(present)));
      } else {
        std::string held;
        if (c && data.columns[*c].kind == ColumnKind::kCategorical) held = mode(data.columns[*c]);
        else if (c) {  // read as numbers: the most common value's text
          Column as_text;
          for (size_t r = 0; r < data.rows(); ++r) as_text.texts.push_back(data.columns[*c].text(r));
          held = mode(as_text);
        }
        col.texts.assign(cells, held);
      }
    }
    grid.columns.push_back(std::move(col));
  }
  grid.lines.assign(cells, 0);
  auto predictions = TOCSIN_TRY(model.predict(grid));

  constexpr double kLeft = 80, kTop = 50, kPlotW = 640, kPlotH = 480;
  size_t longest = 0;
  for (const auto& c : classes) longest = std::max(longest, c.size());
  const double legend_x = kLeft + kPlotW + 24;
  const double width = legend_x + std::max(150.0, 7.5 * static_cast<double>(longest) + 60);
  const double height = kTop + kPlotH + 60;
  auto px = [&](double v) { return kLeft + kPlotW * (v - x0) / (x1 - x0); };
  auto py = [&](double v) { return kTop + kPlotH * (y1 - v) / (y1 - y0); };

  std::string s = svg_open(width, height,
                           fmt::format("{}: {} vs {} — model regions, points by true class", label_column, y_feature, x_feature));
  // Regions: one rect per run of equal predictions along a grid row.
  const double cw = kPlotW / kRegionColumns, ch = kPlotH / kRegionRows;
  s += "<g class=\"regions\" shape-rendering=\"crispEdges\">\n";
  for (int gy = 0; gy < kRegionRows; ++gy) {
    int gx = 0;
    while (gx < kRegionColumns) {
      const int cls = predictions[static_cast<size_t>(gy) * kRegionColumns + gx].cls;
      int end = gx + 1;
      while (end < kRegionColumns && predictions[static_cast<size_t>(gy) * kRegionColumns + end].cls == cls) ++end;
      s += fmt::format("<rect class=\"region\" data-class=\"{}\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n",
                       xml_escape(classes[static_cast<size_t>(cls)]), kLeft + cw * gx, kTop + ch * gy, cw * (end - gx), ch,
                       tint(static_cast<size_t>(cls)));
      gx = end;
    }
  }
  s += "</g>\n";
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333333\"/>\n", kLeft, kTop, kPlotW, kPlotH);
  // Axes with ticks.
  const double xstep = nice_step(x1 - x0, 8), ystep = nice_step(y1 - y0, 6);
  for (double v = std::ceil(x0 / xstep) * xstep; v <= x1 + xstep * 1e-9; v += xstep) {
    const double x = px(v);
    s += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#333333\"/>\n", x, kTop + kPlotH, kTop + kPlotH + 5);
    s += fmt::format("<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, kTop + kPlotH + 18, tick_label(v, xstep));
  }
  for (double v = std::ceil(y0 / ystep) * ystep; v <= y1 + ystep * 1e-9; v += ystep) {
    const double y = py(v);
    s += fmt::format("<line x1=\"{0}\" y1=\"{1:.2f}\" x2=\"{2}\" y2=\"{1:.2f}\" stroke=\"#333333\"/>\n", kLeft - 5, y, kLeft);
    s += fmt::format("<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n", kLeft - 8, y + 4, tick_label(v, ystep));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n", kLeft + kPlotW / 2,
                   kTop + kPlotH + 40, xml_escape(x_feature));
  s += fmt::format("<text x=\"20\" y=\"{0:.1f}\" text-anchor=\"middle\" font-weight=\"bold\" transform=\"rotate(-90 20 {0:.1f})\">{1}</text>\n",
                   kTop + kPlotH / 2, xml_escape(y_feature));
  // Points, by true class.
  s += "<g class=\"points\" stroke=\"#222222\" stroke-width=\"0.6\">\n";
  for (const auto& p : points) {
    s += fmt::format("<circle data-class=\"{}\" cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3.5\" fill=\"{}\"/>\n", xml_escape(p.label), px(p.x),
                     py(p.y), p.cls < 0 ? kUnknownInk : ink(static_cast<size_t>(p.cls)));
  }
  s += "</g>\n";
  // Legend.
  double ly = kTop + 8;
  s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-weight=\"bold\">{}</text>\n", legend_x, ly, xml_escape(label_column));
  for (size_t c = 0; c < classes.size(); ++c) {
    ly += 22;
    s += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"18\" height=\"14\" fill=\"{}\" stroke=\"#999999\"/>\n", legend_x, ly - 11, tint(c));
    s += fmt::format("<circle cx=\"{}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\" stroke=\"#222222\" stroke-width=\"0.6\"/>\n", legend_x + 9, ly - 4,
                     ink(c));
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\">{}</text>\n", legend_x + 26, ly, xml_escape(classes[c]));
  }
  ly += 30;
  s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#555555\" font-size=\"10\">area: predicted class</text>\n", legend_x, ly);
  s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#555555\" font-size=\"10\">dots: true class</text>\n", legend_x, ly + 14);
  if (model.schema.features.size() > 2) {
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#555555\" font-size=\"10\">other features held at</text>\n", legend_x, ly + 28);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#555555\" font-size=\"10\">their median / mode</text>\n", legend_x, ly + 42);
  }
  s += "</svg>\n";
  return s;
}

}  // namespace tocsin::risk
