// Classification metrics: accuracy, per-class precision, recall, F1 and support, and the confusion
// matrix (rows: true class, columns: predicted class). A class never predicted has precision 0
// (sklearn's zero_division=0), one never present has recall 0.
// Thread-safety: value types and functions without shared state.
#pragma once

#include <string>
#include <vector>

namespace tocsin::risk {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  size_t support = 0;
};

struct Evaluation {
  std::vector<std::string> classes;
  size_t total = 0, correct = 0;
  double accuracy = 0;
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<size_t>> confusion;  // [true][predicted]

  std::string to_text() const;
};

Evaluation evaluate(const std::vector<std::string>& classes, const std::vector<int>& truth, const std::vector<int>& predicted);

}  // namespace tocsin::risk
