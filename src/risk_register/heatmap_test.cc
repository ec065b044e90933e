#include "risk_register/heatmap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/time.h"
#include "test_support/xml_check.h"

namespace tocsin::risk_register {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

config::Risk risk(std::string id, std::optional<double> likelihood, int impact) {
  config::Risk r;
  r.id = std::move(id);
  r.title = "Title of " + r.id + " <&> \"quoted\"";
  r.likelihood = likelihood;
  if (!likelihood) {
    config::RiskModelRef ref;
    ref.model = "/m.json";
    ref.cls = "crash";
    r.likelihood_from = std::move(ref);
  }
  r.impact = impact;
  r.owner = "alice";
  r.review = sys_days(2027y / 1 / 1);
  return r;
}

using test_support::Element;
using test_support::parse_xml;

size_t count(const std::vector<Element>& elements, std::string_view name) {
  size_t n = 0;
  for (const auto& e : elements) n += e.name == name ? 1 : 0;
  return n;
}

const core::Timestamp kNow = core::parse_rfc3339("2026-12-04T10:00:00Z").value();

TEST(Heatmap, WellFormedSvgWithOneCirclePerPlacedRisk) {
  const Register reg = build_register(
      {risk("db-crash", 0.3, 5), risk("leak", 0.15, 5), risk("ddos", 0.4, 4), risk("cert", 0.5, 2)}, kNow);
  const std::string svg = render_heatmap_svg(reg);
  const auto elements = parse_xml(svg);
  ASSERT_FALSE(elements.empty());
  EXPECT_EQ(elements[0].name, "svg");
  EXPECT_NE(elements[0].tag.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(count(elements, "circle"), 4u);
  // 25 cells, the background, and 4 level swatches.
  EXPECT_EQ(count(elements, "rect"), 25u + 1 + 4);
  EXPECT_EQ(count(elements, "script"), 0u);
  EXPECT_EQ(svg.find("href"), std::string::npos);  // self-contained
  for (const char* text : {"likelihood", "impact", "almost certain", "critical", "db-crash", "&lt;&amp;&gt;"}) {
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  }
}

TEST(Heatmap, SeveralRisksInOneCellDoNotOverlap) {
  std::vector<config::Risk> risks;
  for (int i = 0; i < 7; ++i) risks.push_back(risk("r" + std::to_string(i), 0.85, 5));
  const std::string svg = render_heatmap_svg(build_register(risks, kNow));
  struct Dot {
    double x, y, r;
  };
  std::vector<Dot> dots;
  for (const auto& e : parse_xml(svg)) {
    if (e.name != "circle") continue;
    auto attr = [&](const std::string& name) {
      const size_t at = e.tag.find(" " + name + "=\"");
      return std::stod(e.tag.substr(at + name.size() + 3));
    };
    dots.push_back({attr("cx"), attr("cy"), attr("r")});
  }
  ASSERT_EQ(dots.size(), 7u);
  for (size_t a = 0; a < dots.size(); ++a) {
    for (size_t b = a + 1; b < dots.size(); ++b) {
      const double d = std::hypot(dots[a].x - dots[b].x, dots[a].y - dots[b].y);
      EXPECT_GT(d, dots[a].r + dots[b].r) << a << " and " << b;
    }
  }
}

TEST(Heatmap, RisksWithoutALikelihoodAreListedNotPlaced) {
  const std::string svg = render_heatmap_svg(build_register({risk("known", 0.5, 3), risk("pending", std::nullopt, 4)}, kNow));
  const auto elements = parse_xml(svg);
  EXPECT_EQ(count(elements, "circle"), 1u);
  EXPECT_NE(svg.find("Not placed"), std::string::npos);
  EXPECT_NE(svg.find("pending"), std::string::npos);
}

TEST(Heatmap, EmptyRegisterIsStillAPicture) {
  const auto elements = parse_xml(render_heatmap_svg(build_register({}, kNow)));
  EXPECT_EQ(count(elements, "circle"), 0u);
  EXPECT_EQ(count(elements, "rect"), 30u);
}

}  // namespace
}  // namespace tocsin::risk_register
