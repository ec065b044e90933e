// tocsin_nab_run: streams every NAB CSV under a data directory through one registered detector
// and writes the scores in the layout ../shared/tools/nab_score.py reads:
//   OUT/<category>/<name>.csv  with  timestamp,anomaly_score  (one row per data row, %.17g).
// Each row is scored from past rows only (the detector sees samples in file order).
//
//   tocsin_nab_run --data DIR --out DIR --detector KIND [--param name=value]...
//   tocsin_nab_run --list        (the registered detector kinds)
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "detect/detector.h"

namespace fs = std::filesystem;
using tocsin::detect::DetectorRegistry;

namespace {

// "YYYY-MM-DD HH:MM:SS" (NAB has no time zone; read as UTC).
std::optional<tocsin::core::Timestamp> parse_nab_time(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const auto t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                 std::chrono::seconds(s);
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

int usage() {
  fmt::print(stderr, "usage: tocsin_nab_run --data DIR --out DIR --detector KIND [--param name=value]...\n"
                     "       tocsin_nab_run --list\n");
  return 2;
}

// Scores one file; false (with a message) on a malformed row.
bool run_file(const tocsin::detect::DetectorSpec& spec, const fs::path& in, const fs::path& out) {
  std::ifstream f(in);
  std::string line;
  if (!std::getline(f, line)) {
    fmt::print(stderr, "{}: empty file\n", in.string());
    return false;
  }
  fs::create_directories(out.parent_path());
  // Opening `out` for writing truncates it: never let that be the input (an output directory
  // inside the data, or a symlinked input that resolves back to itself).
  std::error_code same_error;
  if (fs::equivalent(in, out, same_error)) {
    fmt::print(stderr, "{}: the output would overwrite the input\n", out.string());
    return false;
  }
  std::FILE* o = std::fopen(out.c_str(), "w");
  if (o == nullptr) {
    fmt::print(stderr, "{}: cannot write\n", out.string());
    return false;
  }
  fmt::print(o, "timestamp,anomaly_score\n");
  auto detector = spec.make();
  int row = 1;
  bool ok = true;
  while (std::getline(f, line)) {
    ++row;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto comma = line.find(',');
    const std::string ts_text = line.substr(0, comma);
    const auto ts = parse_nab_time(ts_text);
    char* end = nullptr;
    const double value = comma == std::string::npos ? 0 : std::strtod(line.c_str() + comma + 1, &end);
    if (!ts || comma == std::string::npos || end == line.c_str() + comma + 1) {
      fmt::print(stderr, "{}:{}: malformed row\n", in.string(), row);
      ok = false;
      break;
    }
    const auto decision = detector->update(*ts, value);
    fmt::print(o, "{},{:.17g}\n", ts_text, decision.score);
  }
  std::fclose(o);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, out;
  tocsin::config::DetectorConfig config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--list") {
      fmt::print("{}\n", fmt::join(DetectorRegistry::builtin().kinds(), "\n"));
      return 0;
    } else if (arg == "--data" && has_value) {
      data = argv[++i];
    } else if (arg == "--out" && has_value) {
      out = argv[++i];
    } else if (arg == "--detector" && has_value) {
      config.kind = argv[++i];
    } else if (arg == "--param" && has_value) {
      const std::string kv = argv[++i];
      const auto eq = kv.find('=');
      if (eq == std::string::npos) return usage();
      tocsin::config::DetectorParam p;
      p.text = kv.substr(eq + 1);
      char* end = nullptr;
      const double v = std::strtod(p.text.c_str(), &end);
      if (!p.text.empty() && end == p.text.c_str() + p.text.size()) p.number = v;
      p.pos.file = "--param";
      config.params[kv.substr(0, eq)] = p;
    } else {
      return usage();
    }
  }
  if (data.empty() || out.empty() || config.kind.empty()) return usage();
  config.pos.file = "--detector";
  auto spec = DetectorRegistry::builtin().create(config);
  if (!spec) {
    fmt::print(stderr, "{}\n", spec.error().to_string());
    return 2;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    if (entry.is_regular_file() && entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    fmt::print(stderr, "no CSV files under {}\n", data);
    return 1;
  }
  for (const auto& file : files) {
    // lexically_relative, not relative: relative() resolves symlinks, so a data directory of
    // symlinks would name the link targets' own paths and the output would overwrite them.
    if (!run_file(**spec, file, fs::path(out) / file.lexically_relative(data))) return 1;
  }
  fmt::print("{}: {} files scored into {}\n", (*spec)->describe(), files.size(), out);
  return 0;
}
