#include "risk/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace tocsin::risk {
namespace {

// Rows of each class, each class shuffled with the seed.
std::map<int, std::vector<size_t>> shuffled_classes(const std::vector<int>& labels, uint64_t seed) {
  std::map<int, std::vector<size_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  std::mt19937_64 rng(seed);
  for (auto& [cls, rows] : by_class) {
    for (size_t i = rows.size(); i > 1; --i) {
      // Unbiased enough for shuffling (the modulo bias is below 2^-40 for any table we can hold).
      size_t j = static_cast<size_t>(rng() % i);
      std::swap(rows[i - 1], rows[j]);
    }
  }
  return by_class;
}

}  // namespace

core::Result<Split> stratified_split(const std::vector<int>& labels, double test_fraction, uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1))
    return std::unexpected(core::Error::invalid_argument(fmt::format("test fraction {} is not in (0, 1)", test_fraction)));
  Split s;
  for (auto& [cls, rows] : shuffled_classes(labels, seed)) {
    auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(rows.size())));
    for (size_t i = 0; i < rows.size(); ++i) (i < n_test ? s.test : s.train).push_back(rows[i]);
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

core::Result<std::vector<Split>> stratified_k_fold(const std::vector<int>& labels, int k, uint64_t seed) {
  if (k < 2) return std::unexpected(core::Error::invalid_argument(fmt::format("k-fold needs k >= 2, not {}", k)));
  if (labels.size() < static_cast<size_t>(k))
    return std::unexpected(core::Error::invalid_argument(fmt::format("{} rows cannot make {} folds", labels.size(), k)));
  std::vector<Split> folds(static_cast<size_t>(k));
  size_t next = 0;  // continue dealing across classes so small classes do not all land in fold 0
  for (auto& [cls, rows] : shuffled_classes(labels, seed)) {
    for (size_t i = 0; i < rows.size(); ++i, ++next) {
      size_t f = next % folds.size();
      for (size_t g = 0; g < folds.size(); ++g) (g == f ? folds[g].test : folds[g].train).push_back(rows[i]);
    }
  }
  for (auto& f : folds) {
    std::sort(f.train.begin(), f.train.end());
    std::sort(f.test.begin(), f.test.end());
  }
  return folds;
}

}  // namespace tocsin::risk
