// Stratified train/test splits and k-fold cross-validation folds, reproducible from a seed: each
// class's rows are shuffled (Fisher–Yates over a std::mt19937_64, whose output the standard fixes)
// and dealt out, so every part keeps the class proportions of the whole.
// Thread-safety: functions without shared state.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.h"

namespace tocsin::risk {

struct Split {
  std::vector<size_t> train, test;  // row indices, ascending
};

// `labels[i]` is row i's class index. round(test_fraction · class size) rows of each class go to
// test. test_fraction must be in (0, 1).
core::Result<Split> stratified_split(const std::vector<int>& labels, double test_fraction, uint64_t seed);

// k stratified folds: fold f's test rows are every k-th of each shuffled class, starting at f.
core::Result<std::vector<Split>> stratified_k_fold(const std::vector<int>& labels, int k, uint64_t seed);

}  // namespace tocsin::risk
