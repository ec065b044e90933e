#include "chart/trend.h"

#include <gtest/gtest.h>

#include <cmath>

#include "chart/theme.h"
#include "test_support/xml_check.h"

namespace tocsin::chart {
namespace {

using test_support::attr;
using test_support::parse_xml;

TrendChart mtta() {
  TrendChart c;
  c.title = "MTTA by week";
  c.subtitle = "median time to acknowledge";
  c.unit = TrendUnit::kSeconds;
  c.buckets = {"2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"};
  c.lines = {{"critical", {300.0, std::nullopt, 3600.0, 5400.0}}, {"major <b>", {60.0, 90.0, std::nullopt, NAN}}};
  return c;
}

TEST(TrendChart, WellFormedWithTitleDescAndDarkMode) {
  const std::string svg = render_trend_svg(mtta());
  const auto elements = parse_xml(svg);
  ASSERT_GE(elements.size(), 3u);
  EXPECT_EQ(elements[0].name, "svg");
  EXPECT_NE(attr(elements[0], "viewBox"), "");
  EXPECT_EQ(elements[1].text, "MTTA by week");
  // The description carries every value, in the axis' units.
  EXPECT_NE(elements[2].text.find("critical: 2026-11-09 5m; 2026-11-23 1h; 2026-11-30 1h30m;"), std::string::npos)
      << elements[2].text;
  EXPECT_NE(svg.find("prefers-color-scheme:dark"), std::string::npos);
  EXPECT_NE(svg.find("major &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
}

TEST(TrendChart, NullsAreGaps) {
  const auto elements = parse_xml(render_trend_svg(mtta()));
  std::vector<std::string> paths;
  int dots = 0;
  for (const auto& e : elements) {
    if (e.name == "path") paths.push_back(attr(e, "d"));
    if (e.name == "circle") ++dots;
  }
  ASSERT_EQ(paths.size(), 2u);
  // critical: a point, a gap, then two joined points → two sub-paths.
  EXPECT_EQ(std::count(paths[0].begin(), paths[0].end(), 'M'), 2) << paths[0];
  EXPECT_EQ(std::count(paths[0].begin(), paths[0].end(), 'L'), 1) << paths[0];
  // major: two joined points, then null and NaN → nothing drawn for them.
  EXPECT_EQ(std::count(paths[1].begin(), paths[1].end(), 'M'), 1) << paths[1];
  EXPECT_EQ(std::count(paths[1].begin(), paths[1].end(), 'L'), 1) << paths[1];
  EXPECT_EQ(dots, 5);
}

TEST(TrendChart, HumanisedTicks) {
  const std::string svg = render_trend_svg(mtta());
  // 0 … 1h30m in steps of a round duration.
  EXPECT_NE(svg.find(">30m<"), std::string::npos);
  EXPECT_NE(svg.find(">1h<"), std::string::npos);
  EXPECT_NE(svg.find(">1h30m<"), std::string::npos);
  EXPECT_EQ(humanize_seconds(0), "0");
  EXPECT_EQ(humanize_seconds(45), "45s");
  EXPECT_EQ(humanize_seconds(300), "5m");
  EXPECT_EQ(humanize_seconds(86400 + 43200), "1d12h");
  EXPECT_EQ(humanize_seconds(86400 + 5), "1d");  // only adjacent units
}

TEST(TrendChart, RatioAsPercentAndBars) {
  TrendChart c;
  c.title = "resolution ratio";
  c.unit = TrendUnit::kRatio;
  c.style = TrendStyle::kBars;
  c.buckets = {"2026-11", "2026-12"};
  c.lines = {{"all", {0.5, 0.875}}};
  const std::string svg = render_trend_svg(c);
  const auto elements = parse_xml(svg);
  EXPECT_NE(svg.find(">100%<"), std::string::npos);
  EXPECT_NE(svg.find(">0%<"), std::string::npos);
  EXPECT_NE(svg.find("87.5%"), std::string::npos);
  int bars = 0;
  for (const auto& e : elements) bars += e.name == "rect" && attr(e, "class") == "f0";
  EXPECT_EQ(bars, 2);
}

TEST(TrendChart, NoData) {
  TrendChart c;
  c.title = "empty";
  c.buckets = {"a"};
  c.lines = {{"x", {std::nullopt}}};
  const std::string svg = render_trend_svg(c);
  parse_xml(svg);
  EXPECT_NE(svg.find("no data"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::chart
