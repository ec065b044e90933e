#include "risk/model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <sstream>

#include "risk/metrics.h"

namespace tocsin::risk {
namespace {

Table read(const std::string& csv, std::map<std::string, ColumnKind, std::less<>> kinds = {{"label", ColumnKind::kCategorical}}) {
  std::istringstream in(csv);
  auto t = read_csv(in, {"data.csv", std::move(kinds)});
  EXPECT_TRUE(t) << t.error().to_string();
  return *t;
}

TrainOptions tree_opts(int max_depth = 0, int min_samples_leaf = 1) {
  TrainOptions o;
  o.type = ModelType::kTree;
  o.tree.max_depth = max_depth;
  o.tree.min_samples_leaf = min_samples_leaf;
  return o;
}

Model train(const Table& t, const TrainOptions& options) {
  Model m;
  m.schema = schema_of(t, "label").value();
  auto data = encode(t, m.schema, true).value();
  auto c = fit(data, m.schema, options);
  EXPECT_TRUE(c) << c.error().to_string();
  m.classifier = std::move(*c);
  return m;
}

// Reference values from scikit-learn 1.2.1: GaussianNB().fit(X, y).predict_proba(...).
TEST(GaussianNB, MatchesScikitLearn) {
  auto t = read("x1,x2,label\n1,2,low\n1.5,1.8,low\n5,8,high\n8,8,high\n1,0.6,low\n9,11,high\n");
  Model m = train(t, {});
  EXPECT_EQ(m.classifier->kind(), "gaussian_nb");
  EXPECT_EQ(m.schema.classes, (std::vector<std::string>{"high", "low"}));
  nlohmann::json params;
  m.classifier->to_json(params);
  EXPECT_NEAR(params["epsilon"].get<double>(), 1.537888888888889e-08, 1e-22);
  auto p = m.predict(read("x1,x2\n3,4\n1.2,1.9\n", {})).value();
  EXPECT_EQ(p[0].cls, 0);
  EXPECT_NEAR(p[0].proba[0], 0.9999999999963727, 1e-15);
  EXPECT_NEAR(p[0].proba[1], 3.628258479612311e-12, 1e-15);
  EXPECT_EQ(p[1].cls, 1);
  EXPECT_NEAR(p[1].proba[0], 3.9163085043895237e-10, 1e-15);
}

// Reference: CategoricalNB().fit(X, y) with X=[[0,1],[1,1],[2,0],[0,0],[1,1],[2,1]], y=[0,0,1,1,0,1].
TEST(CategoricalNB, MatchesScikitLearnWithLaplaceSmoothing) {
  auto t = read("f1,f2,label\na,y,0\nb,y,0\nc,n,1\na,n,1\nb,y,0\nc,y,1\n");
  Model m = train(t, {});
  EXPECT_EQ(m.classifier->kind(), "categorical_nb");
  auto p = m.predict(read("f1,f2\na,y\nc,n\nzzz,y\n", {})).value();
  EXPECT_NEAR(p[0].proba[0], 0.6666666666666666, 1e-15);
  EXPECT_NEAR(p[1].proba[1], 0.9, 1e-15);
  EXPECT_NEAR(p[2].proba[0] + p[2].proba[1], 1.0, 1e-15);  // an unseen category is smoothed, not an error
}

TEST(NaiveBayes, GivenPriorsAreUsedAndChecked) {
  auto t = read("x,label\n1,a\n2,a\n3,b\n4,b\n");
  TrainOptions o;
  o.nb.priors = {0.9, 0.1};
  Model m = train(t, o);
  auto p = m.predict(read("x\n2.5\n", {})).value();
  EXPECT_NEAR(p[0].proba[0], 0.9, 1e-12);  // equidistant: the prior decides
  auto schema = schema_of(t, "label").value();
  auto data = encode(t, schema, true).value();
  o.nb.priors = {0.5, 0.6};
  EXPECT_FALSE(NaiveBayes::fit(data, schema, o.nb));
  o.nb.priors = {1.0};
  EXPECT_FALSE(NaiveBayes::fit(data, schema, o.nb));
}

TEST(DecisionTree, LearnsThresholdsAndCategoriesAndPrintsRules) {
  std::string csv = "failed_logins,country,label\n";
  for (int i = 0; i < 40; ++i) {
    bool high = i >= 20 && i % 4 != 0;
    std::string country = i % 4 == 0 ? "RU" : "DE";
    bool label = high || (country == "RU" && i > 30);
    csv += fmt::format("{},{},{}\n", i, country, label ? "high" : "low");
  }
  auto t = read(csv);
  Model m = train(t, tree_opts(3));
  auto* tree = dynamic_cast<const DecisionTree*>(m.classifier.get());
  ASSERT_NE(tree, nullptr);
  EXPECT_LE(tree->depth(), 3);
  auto schema = m.schema;
  auto data = encode(t, schema, true).value();
  std::vector<int> truth = data.y, pred;
  for (size_t r = 0; r < data.rows; ++r) pred.push_back(m.classifier->predict(data.row(r)).cls);
  auto e = evaluate(schema.classes, truth, pred);
  EXPECT_GE(e.accuracy, 0.95);
  std::string rules = m.describe();
  EXPECT_EQ(rules,
            "if failed_logins <= 20.5\n"
            "  then low  (p=1.000, n=21)\n"
            "if failed_logins > 20.5\n"
            "  if country = DE\n"
            "    then high  (p=1.000, n=15)\n"
            "  if country != DE\n"
            "    if failed_logins <= 30\n"
            "      then low  (p=1.000, n=2)\n"
            "    if failed_logins > 30\n"
            "      then high  (p=1.000, n=2)\n");
}

TEST(DecisionTree, MinSamplesLeafAndDepthLimitGrowth) {
  auto t = read("x,label\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n");
  Model full = train(t, tree_opts());
  Model stump = train(t, tree_opts(1));
  Model wide = train(t, tree_opts(0, 3));
  auto depth = [](const Model& m) { return dynamic_cast<const DecisionTree&>(*m.classifier).depth(); };
  EXPECT_GE(depth(full), 3);
  EXPECT_EQ(depth(stump), 1);
  EXPECT_EQ(depth(wide), 1);
  for (const auto& n : dynamic_cast<const DecisionTree&>(*wide.classifier).nodes())
    if (n.feature < 0) {
      EXPECT_EQ(n.counts[0] + n.counts[1], 3);
    }
}

TEST(Metrics, PrecisionRecallF1AndConfusion) {
  auto e = evaluate({"a", "b", "c"}, {0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0});
  EXPECT_DOUBLE_EQ(e.accuracy, 4.0 / 6.0);
  EXPECT_EQ(e.confusion[0], (std::vector<size_t>{1, 1, 0}));
  EXPECT_DOUBLE_EQ(e.per_class[1].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(e.per_class[1].recall, 1.0);
  EXPECT_DOUBLE_EQ(e.per_class[1].f1, 0.8);
  EXPECT_EQ(e.per_class[2].support, 2u);
}

TEST(ModelFile, RoundTripsExactlyAndRefusesOtherVersions) {
  auto t = read("x1,x2,kind,label\n1,2,a,low\n1.5,1.8,b,low\n5,8,a,high\n8,8,b,high\n1,0.6,a,low\n9,11.1,b,high\n");
  for (auto type : {ModelType::kNaiveBayes, ModelType::kTree}) {
    TrainOptions o;
    o.type = type;
    Model m = train(t, o);
    m.preprocessing.fill_number["x1"] = 2.5;
    std::string text = to_json(m);
    auto back = model_from_json(text, "m.json");
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(to_json(*back), text);
    auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["format"], "tocsin-risk-model");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["kind"], type == ModelType::kTree ? "decision_tree" : "mixed_nb");
    auto q = read("x1,x2,kind\n3,4,a\nNA,1.9,b\n", {{"kind", ColumnKind::kCategorical}});
    auto p1 = m.predict(q).value(), p2 = back->predict(q).value();
    for (size_t i = 0; i < p1.size(); ++i) EXPECT_EQ(p1[i].proba, p2[i].proba);
    j["version"] = 2;
    auto v2 = model_from_json(j.dump(), "m.json");
    ASSERT_FALSE(v2);
    EXPECT_EQ(v2.error().message(), "model version 2 is not supported (this tocsin reads version 1)");
  }
  EXPECT_FALSE(model_from_json("{\"format\":\"other\"}", "m.json"));
  EXPECT_FALSE(model_from_json("not json", "m.json"));
}

TEST(Dataset, UnknownLabelNamesLineAndColumn) {
  auto t = read("x,label\n1,a\n2,b\n");
  auto schema = schema_of(t, "label").value();
  auto other = read("x,label\n1,a\n2,c\n");
  auto d = encode(other, schema, true);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().to_string(), "data.csv:3: column 'label': label 'c' was never seen in training (classes: a, b)");
  auto missing = read("y,label\n1,a\n");
  EXPECT_EQ(encode(missing, schema, true).error().to_string(), "data.csv:1: no column 'x' (columns: y, label)");
}

}  // namespace
}  // namespace tocsin::risk
