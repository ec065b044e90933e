// `tocsin detect` (SPEC §2): offline scoring. A CSV of timestamp,value (with a header line) is
// streamed through one detector, and timestamp,value,anomaly_score comes out, the timestamp and
// value echoed exactly as given. `--plot` also draws the run as an SVG (chart/detect_plot.h).
//
// Timestamps are recognised by shape, per line: RFC 3339 ("2014-04-10T00:00:00Z", offsets
// allowed), "YYYY-MM-DD HH:MM:SS[.fff]" (the NAB format, UTC unless a zone follows), a bare date
// (midnight UTC), or Unix time as a number: up to 11 integer digits are seconds (fractions
// allowed), more are milliseconds. A row earlier than the one before is scored at the latest time
// seen (detectors need time order) and counted, so every input row has its output row.
// Detectors that decide without samples (`absent`) are asked at each sample's time first, so
// a gap longer than the detector allows shows as a firing row at the sample that ends it.
// Thread-safety: functions without shared state.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "chart/detect_plot.h"
#include "config/config.h"
#include "core/result.h"
#include "detect/detector.h"

namespace tocsin::cli {

using chart::DetectPlot;
using chart::render_detect_svg;
using chart::ScoredPoint;

struct DetectCommand {
  std::string detector;
  std::vector<std::string> params;  // "k=v"
  std::string input;
  std::string output;  // empty: stdout
  std::string plot;    // empty: no picture
};

// Runs the command; failures are one line on stderr and exit code 1.
int run_detect(const DetectCommand& command);

// The pieces, for tests.
core::Result<core::Timestamp> parse_csv_timestamp(std::string_view text);
// `--param k=v` arguments as a detector config; values that parse as numbers are numbers.
core::Result<config::DetectorConfig> detector_config(std::string_view kind, const std::vector<std::string>& params);

struct ScoreOptions {
  std::string input_name;  // for error messages: "data.csv:17: …"
  bool keep_points = false;  // return the scored points (for --plot)
  std::function<void(uint64_t bytes_read)> progress;  // called every few thousand lines
};
struct ScoreResult {
  std::vector<ScoredPoint> points;  // when options.keep_points is set
  size_t out_of_order = 0;          // rows earlier than the row before (scored at the latest time)
  size_t first_out_of_order_line = 0;
};
// Streams `in` through a new detector of `spec`, writing the output CSV to `out`.
core::Result<ScoreResult> score_csv(std::istream& in, std::ostream& out, const detect::DetectorSpec& spec,
                                    const ScoreOptions& options);

}  // namespace tocsin::cli
