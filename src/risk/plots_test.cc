#include "risk/plots.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "risk/metrics.h"
#include "test_support/xml_check.h"

namespace tocsin::risk {
namespace {

using test_support::attr;
using test_support::Element;
using test_support::parse_xml;


void expect_self_contained(const std::string& svg, const std::vector<Element>& elements) {
  ASSERT_FALSE(elements.empty());
  EXPECT_EQ(elements[0].name, "svg");
  EXPECT_NE(elements[0].tag.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);
}

TEST(ConfusionSvg, GridOfCountsWithEscapedLabels) {
  const std::vector<std::string> classes = {"low", "high <&>", "critical"};
  const std::vector<std::vector<size_t>> confusion = {{5, 1, 0}, {2, 7, 3}, {0, 0, 4}};
  const std::string svg = confusion_svg(classes, confusion, "eval \"q1\" & more");
  const auto elements = parse_xml(svg);
  expect_self_contained(svg, elements);
  std::vector<const Element*> cells, counts;
  for (const auto& e : elements) {
    if (e.name == "rect" && attr(e, "class") == "cell") cells.push_back(&e);
    if (e.name == "text" && attr(e, "class") == "count") counts.push_back(&e);
  }
  ASSERT_EQ(cells.size(), 9u);
  ASSERT_EQ(counts.size(), 9u);
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(counts[i * 3 + j]->text, std::to_string(confusion[i][j])) << i << "," << j;
      EXPECT_EQ(attr(*cells[i * 3 + j], "data-predicted"), j == 1 ? "high &lt;&amp;&gt;" : classes[j]);
    }
  // Shading by row share: a full row's cell is the darkest, an empty cell white.
  EXPECT_EQ(attr(*cells[8], "fill"), "#08306b");
  EXPECT_EQ(attr(*cells[2], "fill"), "#ffffff");
  for (const char* text : {"true class", "predicted class", "high &lt;&amp;&gt;", "eval &quot;q1&quot; &amp; more"})
    EXPECT_NE(svg.find(text), std::string::npos) << text;
}

Table read(const std::string& csv) {
  std::istringstream in(csv);
  auto t = read_csv(in, {"data.csv", {{"label", ColumnKind::kCategorical}}});
  EXPECT_TRUE(t) << t.error().to_string();
  return *t;
}

// Two well-separated clusters in (a, b), a third numeric feature and a categorical one.
std::string clusters_csv() {
  std::string csv = "a,b,c,kind,label\n";
  for (int i = 0; i < 20; ++i) {
    const double d = (i % 5) * 0.2, e = (i / 5) * 0.2;
    csv += std::to_string(1 + d) + "," + std::to_string(1 + e) + "," + std::to_string(i % 3) + ",x,safe\n";
    csv += std::to_string(8 + d) + "," + std::to_string(9 + e) + "," + std::to_string(i % 4) + ",y,\"at <risk> & co\"\n";
  }
  return csv;
}

Model train(const Table& t, ModelType type) {
  Model m;
  m.schema = schema_of(t, "label").value();
  auto data = encode(t, m.schema, true).value();
  TrainOptions o;
  o.type = type;
  auto c = fit(data, m.schema, o);
  EXPECT_TRUE(c) << c.error().to_string();
  m.classifier = std::move(*c);
  return m;
}

double num(const Element& e, std::string_view name) { return std::strtod(attr(e, name).c_str(), nullptr); }

TEST(DecisionRegionsSvg, PointsSitOnTheirOwnPredictedRegion) {
  for (ModelType type : {ModelType::kNaiveBayes, ModelType::kTree}) {
    const Table t = read(clusters_csv());
    const Model m = train(t, type);
    auto svg = decision_regions_svg(m, t, "a", "b", "label");
    ASSERT_TRUE(svg) << svg.error().to_string();
    const auto elements = parse_xml(*svg);
    expect_self_contained(*svg, elements);
    std::vector<const Element*> regions, points;
    for (const auto& e : elements) {
      if (e.name == "rect" && attr(e, "class") == "region") regions.push_back(&e);
      if (e.name == "circle" && !attr(e, "data-class").empty()) points.push_back(&e);
    }
    ASSERT_EQ(points.size(), 40u);
    // Every cell of the 80×60 grid is covered exactly once (runs merge along a row).
    double area = 0;
    for (const auto* r : regions) area += num(*r, "width") * num(*r, "height");
    EXPECT_NEAR(area, 640.0 * 480.0, 1.0);
    // A point deep inside each cluster: the model predicts its own class there, and the region
    // under the dot says the same.
    const auto predicted = m.predict(read("a,b,c,kind\n1.4,1.4,1,x\n8.4,9.4,1,y\n")).value();
    for (size_t k : {size_t{0}, size_t{1}}) {
      const std::string want = m.schema.classes[static_cast<size_t>(predicted[k].cls)];
      const std::string truth = k == 0 ? "safe" : "at <risk> & co";
      EXPECT_EQ(want, truth);
      // Each cluster's dots lie 7 units from the other cluster: take one whose point is (1.4, 1.4) or
      // (8.4, 9.4), the 13th row of its class.
      const Element* dot = nullptr;
      int seen = 0;
      for (const auto* p : points)
        if (attr(*p, "data-class") == (k == 0 ? "safe" : "at &lt;risk&gt; &amp; co") && seen++ == 12) dot = p;
      ASSERT_NE(dot, nullptr);
      const double cx = num(*dot, "cx"), cy = num(*dot, "cy");
      int hits = 0;
      for (const auto* r : regions) {
        const double x = num(*r, "x"), y = num(*r, "y");
        if (cx >= x && cx < x + num(*r, "width") && cy >= y && cy < y + num(*r, "height")) {
          ++hits;
          EXPECT_EQ(attr(*r, "data-class"), attr(*dot, "data-class"));
        }
      }
      EXPECT_EQ(hits, 1);
    }
    for (const char* text : {">a<", ">b<", "at &lt;risk&gt; &amp; co", "safe"})
      EXPECT_NE(svg->find(text), std::string::npos) << text;
  }
}

TEST(DecisionRegionsSvg, RefusesBadFeaturesAndMissingLabel) {
  const Table t = read(clusters_csv());
  const Model m = train(t, ModelType::kNaiveBayes);
  auto unknown = decision_regions_svg(m, t, "a", "nope", "label");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().to_string().find("unknown feature 'nope'"), std::string::npos) << unknown.error().to_string();
  auto categorical = decision_regions_svg(m, t, "kind", "b", "label");
  ASSERT_FALSE(categorical);
  EXPECT_NE(categorical.error().to_string().find("categorical"), std::string::npos) << categorical.error().to_string();
  auto label = decision_regions_svg(m, t, "a", "b", "severity");
  ASSERT_FALSE(label);
  EXPECT_NE(label.error().to_string().find("severity"), std::string::npos) << label.error().to_string();
  EXPECT_FALSE(decision_regions_svg(m, t, "a", "a", "label"));
}

}  // namespace
}  // namespace tocsin::risk
