#include "risk_register/heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/xml.h"

namespace tocsin::risk_register {
namespace {

using core::xml_escape;

constexpr double kGridX = 130, kGridY = 76;     // top-left corner of the grid
constexpr double kCellW = 112, kCellH = 88;
constexpr double kGridW = kCellW * 5, kGridH = kCellH * kLikelihoodBands;
constexpr double kKeyX = kGridX + kGridW + 36;  // the key column
constexpr double kWidth = kKeyX + 330;
constexpr double kLineH = 16;

constexpr std::array<std::string_view, 5> kImpactNames = {"negligible", "minor", "moderate", "major", "severe"};

// Cell tints and dot colours per level, blue through yellow and orange to red: the levels differ
// along the blue–yellow axis and in lightness, which stay visible with red–green colour blindness
// (the traditional green-to-red matrix does not); the dots also carry their rank and the key.
std::string_view tint(Level level) {
  switch (level) {
    case Level::kLow: return "#deebf7";
    case Level::kMedium: return "#fff3b0";
    case Level::kHigh: return "#fdd0a2";
    case Level::kCritical: return "#f4a582";
  }
  return "#ffffff";
}

std::string_view ink(Level level) {
  switch (level) {
    case Level::kLow: return "#2166ac";
    case Level::kMedium: return "#9a7800";
    case Level::kHigh: return "#e6550d";
    case Level::kCritical: return "#8b0000";
  }
  return "#000000";
}

std::string_view range_text(Level level) {
  switch (level) {
    case Level::kLow: return "score < 1";
    case Level::kMedium: return "1 ≤ score < 2";
    case Level::kHigh: return "2 ≤ score < 3.5";
    case Level::kCritical: return "score ≥ 3.5";
  }
  return "";
}

// Cut to `max` characters (UTF-8 unaware on purpose: ids are ASCII), with an ellipsis.
std::string fit(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  if (max <= 1) return "…";
  return std::string(text.substr(0, max - 1)) + "…";
}

double cell_x(int impact) { return kGridX + (impact - 1) * kCellW; }
double cell_y(int band) { return kGridY + (kLikelihoodBands - 1 - band) * kCellH; }

}  // namespace

std::string render_heatmap_svg(const Register& reg) {
  // Which risks sit in each cell, by rank (1-based position in the register).
  std::vector<size_t> cells[kLikelihoodBands][5];
  std::vector<size_t> unplaced;
  for (size_t i = 0; i < reg.entries.size(); ++i) {
    const Entry& e = reg.entries[i];
    if (!e.likelihood) {
      unplaced.push_back(i);
      continue;
    }
    cells[likelihood_band(*e.likelihood)][std::clamp(e.impact, 1, 5) - 1].push_back(i);
  }

  const double key_height = 150 + kLineH * static_cast<double>(reg.entries.size() + (unplaced.empty() ? 0 : 2));
  const double height = std::max(kGridY + kGridH + 70, kGridY + key_height);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Risk heat map</text>\n"
      "<text x=\"{2}\" y=\"42\" fill=\"#444\">{3} risks · score = likelihood × impact · {4}</text>\n",
      kWidth, height, kGridX, reg.entries.size(), xml_escape(core::format_rfc3339(reg.generated_at)));

  // The grid, tinted by the level at each cell's centre.
  for (int band = 0; band < kLikelihoodBands; ++band) {
    const double centre = (band + 0.5) / kLikelihoodBands;
    for (int impact = 1; impact <= 5; ++impact) {
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"white\" "
                       "stroke-width=\"2\"/>\n",
                       cell_x(impact), cell_y(band), kCellW, kCellH, tint(level_of(centre * impact)));
    }
  }
  // Axes: impact along the bottom, likelihood bands up the left.
  for (int impact = 1; impact <= 5; ++impact) {
    const double x = cell_x(impact) + kCellW / 2;
    s += fmt::format("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" font-weight=\"bold\">{2}</text>"
                     "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#444\">{4}</text>\n",
                     x, kGridY + kGridH + 16, impact, kGridY + kGridH + 30, kImpactNames[impact - 1]);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">impact</text>\n",
                   kGridX + kGridW / 2, kGridY + kGridH + 52);
  for (int band = 0; band < kLikelihoodBands; ++band) {
    const double y = cell_y(band) + kCellH / 2;
    s += fmt::format("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\" font-weight=\"bold\">{2}</text>"
                     "<text x=\"{0}\" y=\"{3}\" text-anchor=\"end\" fill=\"#444\">{4:.1f}–{5:.1f}</text>\n",
                     kGridX - 8, y - 2, likelihood_band_name(band), y + 12, band * 0.2, (band + 1) * 0.2);
  }
  const double mid_y = kGridY + kGridH / 2;
  s += fmt::format("<text x=\"20\" y=\"{0}\" transform=\"rotate(-90 20 {0})\" text-anchor=\"middle\" "
                   "font-size=\"13\">likelihood</text>\n",
                   mid_y);

  // The risks: a small grid of dots per cell, columns × rows just enough for the cell's count.
  for (int band = 0; band < kLikelihoodBands; ++band) {
    for (int impact = 1; impact <= 5; ++impact) {
      const auto& here = cells[band][impact - 1];
      if (here.empty()) continue;
      const int n = static_cast<int>(here.size());
      const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
      const int rows = (n + cols - 1) / cols;
      const double sub_w = kCellW / cols, sub_h = kCellH / rows;
      const bool labels = sub_h >= 28;  // room for an id under each dot
      const double r = std::clamp(std::min(sub_w, sub_h - (labels ? 12 : 0)) / 2 - 2, 3.0, 11.0);
      for (int k = 0; k < n; ++k) {
        const size_t rank = here[k];
        const Entry& e = reg.entries[rank];
        const double cx = cell_x(impact) + sub_w * (k % cols + 0.5);
        const double cy = cell_y(band) + sub_h * (k / cols + 0.5) - (labels ? 6 : 0);
        s += fmt::format(
            "<g><circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\" stroke=\"white\" stroke-width=\"1.5\">"
            "<title>{}: {} (likelihood {:.2f} × impact {} = {:.2f}, {})</title></circle>",
            cx, cy, r, ink(*e.level), xml_escape(e.id), xml_escape(e.title), *e.likelihood, e.impact, *e.score,
            level_name(*e.level));
        if (r >= 6) {
          s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"white\" font-size=\"{}\" "
                           "font-weight=\"bold\">{}</text>",
                           cx, cy + 3.5, r >= 9 ? 10 : 8, rank + 1);
        }
        if (labels) {
          // About 5.5 px per character at font-size 9.
          const size_t chars = static_cast<size_t>(std::max(2.0, (sub_w - 4) / 5.5));
          s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"9\">{}</text>", cx,
                           cy + r + 10, xml_escape(fit(e.id, chars)));
        }
        s += "</g>\n";
      }
    }
  }

  // The key: levels, then every risk by rank.
  double y = kGridY + 4;
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\" font-size=\"12\">Levels</text>\n", kKeyX, y);
  for (Level level : {Level::kCritical, Level::kHigh, Level::kMedium, Level::kLow}) {
    y += kLineH + 2;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"12\" fill=\"{}\" stroke=\"{}\"/>"
                     "<text x=\"{}\" y=\"{}\">{} ({})</text>\n",
                     kKeyX, y - 10, tint(level), ink(level), kKeyX + 20, y, level_name(level), xml_escape(range_text(level)));
  }
  y += kLineH * 2;
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\" font-size=\"12\">Risks (score)</text>\n", kKeyX, y);
  for (size_t i = 0; i < reg.entries.size(); ++i) {
    const Entry& e = reg.entries[i];
    if (!e.likelihood) continue;
    y += kLineH;
    s += fmt::format("<text x=\"{}\" y=\"{}\"><tspan font-weight=\"bold\" fill=\"{}\">{}</tspan> {} "
                     "<tspan fill=\"#444\">{:.2f}{}</tspan></text>\n",
                     kKeyX, y, ink(*e.level), i + 1, xml_escape(fit(e.id, 32)), *e.score,
                     e.review_overdue ? " · review overdue" : "");
  }
  if (!unplaced.empty()) {
    y += kLineH * 1.5;
    s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\">Not placed (likelihood from a model, not known yet):</text>\n",
                     kKeyX, y);
    for (size_t i : unplaced) {
      y += kLineH;
      s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\">{} {}</text>\n", kKeyX + 8, y, i + 1,
                       xml_escape(fit(reg.entries[i].id, 32)));
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace tocsin::risk_register
