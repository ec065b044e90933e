// tocsin's Gaussian naive Bayes on in-memory data, for bench/risk/run.py: reads the matrix the
// script wrote (so both sides fit the very same doubles), times NaiveBayes::fit and
// predict_batch (best of --repeat runs), optionally times reading the same rows from CSV with
// risk::read_csv_file + encode, and writes the predictions and probabilities back for the script
// to compare with scikit-learn's.
//
// usage: tocsin_nb_bench DATA.bin OUT.bin [--repeat N] [--csv TRAIN.csv]
//   DATA.bin: "TNB1", then uint64 rows, features, classes; rows × features float64 (row-major);
//             rows int32 labels in [0, classes)
//   OUT.bin:  rows int32 predicted classes, then rows × classes float64 probabilities
// Prints one JSON object: {"fit_s", "predict_s", "csv_load_s" (with --csv), "rows", "features"}.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "risk/dataset.h"
#include "risk/naive_bayes.h"
#include "risk/table.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int fail(const std::string& message) {
  std::fprintf(stderr, "tocsin_nb_bench: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tocsin::risk;
  if (argc < 3) return fail("usage: tocsin_nb_bench DATA.bin OUT.bin [--repeat N] [--csv TRAIN.csv]");
  int repeat = 3;
  std::string csv;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (std::strcmp(argv[i], "--csv") == 0) csv = argv[i + 1];
    else return fail(fmt::format("unknown option {}", argv[i]));
  }
  std::ifstream in(argv[1], std::ios::binary);
  char magic[4];
  uint64_t dims[3];
  if (!in.read(magic, 4) || std::memcmp(magic, "TNB1", 4) != 0 || !in.read(reinterpret_cast<char*>(dims), sizeof dims))
    return fail(fmt::format("{}: not a TNB1 file", argv[1]));
  Dataset data;
  data.rows = dims[0];
  data.cols = dims[1];
  const size_t classes = dims[2];
  data.x.resize(data.rows * data.cols);
  std::vector<int32_t> labels(data.rows);
  in.read(reinterpret_cast<char*>(data.x.data()), static_cast<std::streamsize>(data.x.size() * sizeof(double)));
  in.read(reinterpret_cast<char*>(labels.data()), static_cast<std::streamsize>(labels.size() * sizeof(int32_t)));
  if (!in) return fail(fmt::format("{}: truncated", argv[1]));
  data.y.assign(labels.begin(), labels.end());
  Schema schema;
  schema.label = "label";
  for (size_t c = 0; c < classes; ++c) schema.classes.push_back(std::to_string(c));
  for (size_t f = 0; f < data.cols; ++f) schema.features.push_back({fmt::format("f{}", f), ColumnKind::kNumeric, {}});

  double fit_s = 1e300, predict_s = 1e300, csv_s = 0;
  std::unique_ptr<NaiveBayes> model;
  for (int k = 0; k < repeat; ++k) {
    const auto t0 = Clock::now();
    auto fitted = NaiveBayes::fit(data, schema, {});
    fit_s = std::min(fit_s, seconds_since(t0));
    if (!fitted) return fail(fitted.error().to_string());
    model = std::move(*fitted);
  }
  std::vector<int> predicted(data.rows);
  std::vector<double> proba(data.rows * classes);
  for (int k = 0; k < repeat; ++k) {
    const auto t0 = Clock::now();
    model->predict_batch(data, classes, predicted.data(), proba.data());
    predict_s = std::min(predict_s, seconds_since(t0));
  }
  if (!csv.empty()) {
    // The CLI's path: read the CSV (kinds decided per column), then encode it as the model's input.
    const auto t0 = Clock::now();
    ReadOptions read;
    read.kinds["label"] = ColumnKind::kCategorical;
    auto table = read_csv_file(csv, read);
    if (!table) return fail(table.error().to_string());
    auto schema_read = schema_of(*table, "label");
    if (!schema_read) return fail(schema_read.error().to_string());
    auto encoded = encode(*table, *schema_read, true);
    if (!encoded) return fail(encoded.error().to_string());
    csv_s = seconds_since(t0);
    if (encoded->rows != data.rows) return fail("the CSV has a different number of rows");
  }
  std::ofstream out(argv[2], std::ios::binary);
  std::vector<int32_t> cls32(predicted.begin(), predicted.end());
  out.write(reinterpret_cast<const char*>(cls32.data()), static_cast<std::streamsize>(cls32.size() * sizeof(int32_t)));
  out.write(reinterpret_cast<const char*>(proba.data()), static_cast<std::streamsize>(proba.size() * sizeof(double)));
  if (!out) return fail(fmt::format("cannot write {}", argv[2]));
  fmt::print("{{\"rows\": {}, \"features\": {}, \"fit_s\": {:.6f}, \"predict_s\": {:.6f}", data.rows, data.cols, fit_s,
             predict_s);
  if (!csv.empty()) fmt::print(", \"csv_load_s\": {:.6f}", csv_s);
  fmt::print("}}\n");
  return 0;
}
