#include "chart/series_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_support/xml_check.h"

namespace tocsin::chart {
namespace {

using test_support::attr;
using test_support::parse_xml;

constexpr int64_t kT0 = 1'796'000'000'000;

SeriesChart two_panels() {
  SeriesChart c{"HighLoad <&>", "value > 0.9", kT0, kT0 + 3'600'000, {}, "1 more series not shown"};
  SeriesPanel a{
      "system_load{instance=\"a\"}", {}, {{kT0 + 1'800'000, kT0 + 2'400'000}, {kT0 + 3'000'000, std::nullopt}}};
  for (int i = 0; i < 60; ++i) {
    const double inf = std::numeric_limits<double>::infinity();
    a.points.push_back({kT0 + i * 60'000, i >= 30 && i < 40 ? 1.5 : 0.5, i < 5 ? std::nullopt : std::optional(-inf),
                        i < 5 ? std::nullopt : std::optional(0.9)});
  }
  c.panels.push_back(std::move(a));
  c.panels.push_back({"system_load{instance=\"b\"}", {}, {}});
  return c;
}

TEST(SeriesChart, WellFormedAccessibleAndThemed) {
  const std::string svg = render_series_svg(two_panels());
  const auto elements = parse_xml(svg);
  ASSERT_FALSE(elements.empty());
  EXPECT_EQ(elements[0].name, "svg");
  EXPECT_EQ(attr(elements[0], "viewBox").substr(0, 4), "0 0 ");
  EXPECT_EQ(elements[1].name, "title");
  EXPECT_EQ(elements[1].text, "HighLoad &lt;&amp;&gt;");
  EXPECT_EQ(elements[2].name, "desc");
  EXPECT_NE(elements[2].text.find("2 series, 60 samples, 2 firing spans"), std::string::npos) << elements[2].text;
  EXPECT_NE(svg.find("@media (prefers-color-scheme:dark)"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);                      // nothing external
  EXPECT_NE(svg.find("no samples in this range"), std::string::npos);  // the empty panel says so
  EXPECT_NE(svg.find("1 more series not shown"), std::string::npos);
}

TEST(SeriesChart, FiringSpansShadedAndClipped) {
  const auto elements = parse_xml(render_series_svg(two_panels()));
  std::vector<double> xs, widths;
  for (const auto& e : elements) {
    if (e.name == "rect" && attr(e, "class") == "firing" && attr(e, "height") != "9") {
      xs.push_back(std::stod(attr(e, "x")));
      widths.push_back(std::stod(attr(e, "width")));
    }
  }
  ASSERT_EQ(xs.size(), 2u);
  // Plot from x=70, 910 px for one hour: 30 min → 525, 10 min → 151.7; the open span runs to the end.
  EXPECT_NEAR(xs[0], 525, 0.1);
  EXPECT_NEAR(widths[0], 151.7, 0.1);
  EXPECT_NEAR(xs[1] + widths[1], 980, 0.1);
}

TEST(SeriesChart, BoundsBrokenWhereUnknownOrOpen) {
  const auto elements = parse_xml(render_series_svg(two_panels()));
  int bound_paths = 0;
  for (const auto& e : elements) {
    if (e.name != "path" || attr(e, "class") != "bound") continue;
    ++bound_paths;
    const std::string d = attr(e, "d");
    EXPECT_EQ(d.find(" M"), std::string::npos) << "one unbroken run after the warm-up: " << d;
    EXPECT_EQ(std::count(d.begin(), d.end(), 'L'), 54);  // points 5..59
  }
  EXPECT_EQ(bound_paths, 1);  // the lower side is open (−∞): no line
}

TEST(SeriesChart, NoPanels) {
  const std::string svg = render_series_svg({"r", "s", kT0, kT0 + 1000, {}, ""});
  parse_xml(svg);
  EXPECT_NE(svg.find("no series match"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::chart
