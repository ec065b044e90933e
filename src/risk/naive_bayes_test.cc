// NaiveBayes's fast paths against plain references: the streamed two-pass moments (blocked sums,
// two threads above 200k rows) against a long double two-pass per feature, and predict_batch
// against predict() row by row — with the numeric features contiguous and interleaved with a
// categorical one. (Agreement with scikit-learn itself: model_test.cc and
// tests/e2e/test_risk_sklearn.py.)
#include "risk/naive_bayes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

namespace tocsin::risk {
namespace {

struct Case {
  Dataset data;
  Schema schema;
};

// `rows` rows of 3 classes; features f0..f4 numeric with class-dependent means and spreads of
// different magnitudes; with `categorical_at` >= 0, that column is a categorical code instead.
Case make(size_t rows, int categorical_at, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_int_distribution<int> cls(0, 2), cat(0, 3);
  Case c;
  c.schema.label = "y";
  c.schema.classes = {"a", "b", "c"};
  const size_t cols = 5;
  for (size_t f = 0; f < cols; ++f) {
    Feature feature{"f" + std::to_string(f), ColumnKind::kNumeric, {}};
    if (static_cast<int>(f) == categorical_at) feature = {feature.name, ColumnKind::kCategorical, {"p", "q", "r", "s"}};
    c.schema.features.push_back(feature);
  }
  c.data.rows = rows;
  c.data.cols = cols;
  for (size_t r = 0; r < rows; ++r) {
    const int y = cls(rng);
    c.data.y.push_back(y);
    for (size_t f = 0; f < cols; ++f) {
      if (static_cast<int>(f) == categorical_at) {
        c.data.x.push_back(cat(rng));
      } else {
        const double scale = std::pow(10.0, static_cast<double>(f) - 2);  // 0.01 … 100
        c.data.x.push_back(1e3 * static_cast<double>(f) + scale * (y + (1 + 0.5 * y) * normal(rng)));
      }
    }
  }
  return c;
}

TEST(NaiveBayesFit, StreamedMomentsEqualAPlainTwoPass) {
  for (size_t rows : {size_t{1000}, size_t{250'000}}) {  // one part, and two threads
    for (int categorical_at : {-1, 1}) {
      SCOPED_TRACE(testing::Message() << rows << " rows, categorical column " << categorical_at);
      const Case c = make(rows, categorical_at, 42 + rows);
      auto nb = NaiveBayes::fit(c.data, c.schema, {});
      ASSERT_TRUE(nb) << nb.error().to_string();
      nlohmann::json params;
      (*nb)->to_json(params);
      const auto theta = params["theta"].get<std::vector<std::vector<double>>>();
      const auto var = params["var"].get<std::vector<std::vector<double>>>();
      const double epsilon = params["epsilon"].get<double>();
      // Reference: per feature and class, long double two-pass; ε from the all-rows variance.
      long double max_var = 0;
      size_t j = 0;
      for (size_t f = 0; f < c.data.cols; ++f) {
        if (static_cast<int>(f) == categorical_at) continue;
        long double all_sum = 0;
        std::vector<long double> sum(3, 0), n(3, 0);
        for (size_t r = 0; r < rows; ++r) {
          all_sum += c.data.row(r)[f];
          sum[static_cast<size_t>(c.data.y[r])] += c.data.row(r)[f];
          n[static_cast<size_t>(c.data.y[r])] += 1;
        }
        const long double all_mean = all_sum / rows;
        long double all_sq = 0;
        std::vector<long double> sq(3, 0);
        for (size_t r = 0; r < rows; ++r) {
          const size_t y = static_cast<size_t>(c.data.y[r]);
          const long double d = c.data.row(r)[f] - sum[y] / n[y], e = c.data.row(r)[f] - all_mean;
          sq[y] += d * d;
          all_sq += e * e;
        }
        max_var = std::max(max_var, all_sq / rows);
        for (size_t y = 0; y < 3; ++y) {
          const double mean = static_cast<double>(sum[y] / n[y]);
          EXPECT_NEAR(theta[y][j], mean, 1e-14 * std::abs(mean)) << "feature " << f << " class " << y;
          const double v = static_cast<double>(sq[y] / n[y]);
          EXPECT_NEAR(var[y][j] - epsilon, v, 1e-12 * v) << "feature " << f << " class " << y;
        }
        ++j;
      }
      EXPECT_NEAR(epsilon, 1e-9 * static_cast<double>(max_var), 1e-12 * epsilon);
    }
  }
}

TEST(NaiveBayesPredict, BatchIsRowByRowExactly) {
  for (size_t rows : {size_t{2000}, size_t{210'000}}) {
    for (int categorical_at : {-1, 0}) {
      SCOPED_TRACE(testing::Message() << rows << " rows, categorical column " << categorical_at);
      const Case c = make(rows, categorical_at, 7 + rows);
      auto nb = NaiveBayes::fit(c.data, c.schema, {});
      ASSERT_TRUE(nb) << nb.error().to_string();
      std::vector<int> cls(rows);
      std::vector<double> proba(rows * 3);
      (*nb)->predict_batch(c.data, 3, cls.data(), proba.data());
      size_t checked = 0, agreeing = 0;
      for (size_t r = 0; r < rows; r += rows / 1000) {
        const Prediction p = (*nb)->predict(c.data.row(r));
        ASSERT_EQ(p.cls, cls[r]) << "row " << r;
        double sum = 0;
        for (size_t k = 0; k < 3; ++k) {
          ASSERT_EQ(p.proba[k], proba[r * 3 + k]) << "row " << r;
          sum += p.proba[k];
        }
        EXPECT_NEAR(sum, 1.0, 1e-15);
        // The predicted class is the most probable one, and the true one far more often than
        // chance (1/3; the classes overlap, about 3 in 4 are right).
        EXPECT_EQ(std::max_element(p.proba.begin(), p.proba.end()) - p.proba.begin(), p.cls);
        agreeing += p.cls == c.data.y[r];
        ++checked;
      }
      EXPECT_GT(agreeing, checked * 6 / 10);
    }
  }
}

}  // namespace
}  // namespace tocsin::risk
