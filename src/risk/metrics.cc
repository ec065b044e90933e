#include "risk/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace tocsin::risk {

Evaluation evaluate(const std::vector<std::string>& classes, const std::vector<int>& truth, const std::vector<int>& predicted) {
  assert(truth.size() == predicted.size() && "one prediction per row");
  const size_t k = classes.size();
  Evaluation e;
  e.classes = classes;
  e.total = truth.size();
  e.confusion.assign(k, std::vector<size_t>(k, 0));
  for (size_t i = 0; i < truth.size(); ++i) {
    ++e.confusion[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
    e.correct += truth[i] == predicted[i];
  }
  e.accuracy = e.total ? static_cast<double>(e.correct) / static_cast<double>(e.total) : 0;
  e.per_class.resize(k);
  for (size_t c = 0; c < k; ++c) {
    size_t tp = e.confusion[c][c], predicted_c = 0, actual_c = 0;
    for (size_t j = 0; j < k; ++j) {
      predicted_c += e.confusion[j][c];
      actual_c += e.confusion[c][j];
    }
    auto& m = e.per_class[c];
    m.support = actual_c;
    m.precision = predicted_c ? static_cast<double>(tp) / static_cast<double>(predicted_c) : 0;
    m.recall = actual_c ? static_cast<double>(tp) / static_cast<double>(actual_c) : 0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  }
  return e;
}

std::string Evaluation::to_text() const {
  size_t w = 5;
  for (const auto& c : classes) w = std::max(w, c.size());
  std::string s = fmt::format("accuracy {:.4f} ({}/{})\n\n", accuracy, correct, total);
  s += fmt::format("{:<{}}  {:>9}  {:>6}  {:>6}  {:>7}\n", "class", w, "precision", "recall", "f1", "support");
  for (size_t c = 0; c < classes.size(); ++c) {
    const auto& m = per_class[c];
    s += fmt::format("{:<{}}  {:>9.4f}  {:>6.4f}  {:>6.4f}  {:>7}\n", classes[c], w, m.precision, m.recall, m.f1, m.support);
  }
  s += "\nconfusion (rows: true class, columns: predicted)\n";
  size_t cw = 6;
  for (const auto& c : classes) cw = std::max(cw, c.size());
  for (const auto& row : confusion)
    for (size_t v : row) cw = std::max(cw, fmt::format("{}", v).size());
  s += fmt::format("{:<{}}", "", w);
  for (const auto& c : classes) s += fmt::format("  {:>{}}", c, cw);
  s += '\n';
  for (size_t r = 0; r < classes.size(); ++r) {
    s += fmt::format("{:<{}}", classes[r], w);
    for (size_t v : confusion[r]) s += fmt::format("  {:>{}}", v, cw);
    s += '\n';
  }
  return s;
}

}  // namespace tocsin::risk
