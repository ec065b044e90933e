// Learning CPTs from data: for a fixed structure (nodes, states, parents), each CPT row is the
// count of rows in the data with that parent combination and each state, plus a Laplace
// pseudo-count alpha per cell, normalised:
//   P(X = x | parents = u) = (N(x, u) + alpha) / (N(u) + alpha · |states of X|)
// so a combination never seen gets the uniform row, and no probability is 0 (alpha > 0).
// Missing values: an empty cell, or one of `?`, `NA`, `NaN`, `nan`, `null` (unless that text is
// one of the node's states), is unobserved. Each node's family is counted only over the rows where
// the node and all its parents are observed (available-case counting: every CPT uses all the data
// that bears on it, and `Counts::rows_used` says how many rows that was per node). This is exact
// when values are missing at random independently of the family; no imputation is made.
// Thread-safety: pure functions.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "bayesnet/network.h"
#include "core/result.h"

namespace tocsin::bayesnet {

struct LearnOptions {
  double alpha = 1.0;      // Laplace pseudo-count per cell; >= 0 (0 = maximum likelihood)
  std::string data_name;   // for errors: "data.csv:7: …"
};

struct Counts {
  // Per node, rows × states counts as seen in the data (without alpha), in the CPT layout.
  std::vector<std::vector<double>> counts;
  size_t rows = 0;               // data rows read (blank lines skipped)
  std::vector<size_t> rows_used;  // per node: rows where the node and all its parents were observed
  size_t rows_with_missing = 0;   // rows with at least one missing value in a node's column
};

struct Learned {
  Network network;  // the structure with learnt CPTs (any CPTs it had are replaced)
  Counts counts;
};

// Reads a CSV with a header line naming the columns; every node needs a column of the same name
// (other columns are ignored) and every value must be one of that node's states or missing (see
// above). Blank lines are skipped. Errors name the line and column. A combination of parent states that never occurs
// gets the uniform row (with alpha = 0 that is the only way a row has no data behind it).
core::Result<Learned> learn_cpts(const Network& structure, std::istream& csv, const LearnOptions& options = {});

}  // namespace tocsin::bayesnet
