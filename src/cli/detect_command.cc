#include "cli/detect_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/clock.h"
#include "core/csv.h"

namespace tocsin::cli {
namespace {

constexpr size_t kProgressEvery = 4096;  // lines between progress callbacks

using core::split_csv;

std::string_view trim(std::string_view s) { return core::trim_blanks(s); }

std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

core::Result<core::Timestamp> parse_csv_timestamp(std::string_view text) {
  text = trim(text);
  auto bad = [&] {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("bad timestamp \"{}\": expected RFC 3339, \"YYYY-MM-DD HH:MM:SS\" or Unix seconds or milliseconds",
                    text)));
  };
  if (text.empty()) return bad();
  if (std::isdigit(static_cast<unsigned char>(text.front()))) {
    const size_t digits = std::find_if_not(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) - text.begin();
    if (digits == text.size() || text[digits] == '.') {
      const auto v = parse_number(text);
      if (!v) return bad();
      // Unix seconds have 10 digits until the year 2286; milliseconds have 13 since 2001.
      const double ms = digits <= 11 ? *v * 1000 : *v;
      if (!(ms < 9e15)) return bad();
      return core::from_unix_ms(static_cast<int64_t>(std::llround(ms)));
    }
  }
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    auto t = core::parse_rfc3339(fmt::format("{}T00:00:00Z", text));
    if (!t) return bad();
    return *t;
  }
  if (text.size() >= 19 && text[4] == '-' && text[7] == '-') {
    // No zone after the seconds (and fraction) means UTC, as in NAB's "2014-04-10 00:00:00".
    size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    }
    std::string full(text);
    if (pos == text.size()) full += 'Z';
    auto t = core::parse_rfc3339(full);
    if (!t) return bad();
    return *t;
  }
  return bad();
}

core::Result<config::DetectorConfig> detector_config(std::string_view kind, const std::vector<std::string>& params) {
  config::DetectorConfig c;
  c.kind = std::string(kind);
  c.pos = {"--detector", 0, 0};
  for (const std::string& arg : params) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("bad --param \"{}\": expected NAME=VALUE, e.g. --param n=3", arg)));
    }
    config::DetectorParam p;
    const std::string name(trim(std::string_view(arg).substr(0, eq)));
    p.text = std::string(trim(std::string_view(arg).substr(eq + 1)));
    p.number = parse_number(p.text);
    p.pos = {fmt::format("--param {}", arg), 0, 0};
    if (!c.params.emplace(name, std::move(p)).second) {
      return std::unexpected(core::Error::invalid_argument(fmt::format("--param {} is given twice", name)));
    }
  }
  return c;
}

core::Result<ScoreResult> score_csv(std::istream& in, std::ostream& out, const detect::DetectorSpec& spec,
                                                 const ScoreOptions& options) {
  auto fail = [&](size_t line, std::string message) {
    return std::unexpected(core::Error::invalid_argument(std::move(message)).at({options.input_name, static_cast<int>(line), 0}));
  };
  ScoreResult result;
  auto detector = spec.make();
  std::string line;
  size_t line_no = 0;
  uint64_t bytes = 0;
  size_t ts_col = 0, value_col = 1;
  bool header_seen = false;
  std::optional<core::Timestamp> previous;
  out << "timestamp,value,anomaly_score\n";
  while (std::getline(in, line)) {
    ++line_no;
    bytes += line.size() + 1;
    if (options.progress && line_no % kProgressEvery == 0) options.progress(bytes);
    if (trim(line).empty()) continue;
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 byte-order mark
    const auto fields = split_csv(line);
    if (!header_seen) {
      header_seen = true;
      std::optional<size_t> t, v;
      for (size_t i = 0; i < fields.size(); ++i) {
        const std::string name = lower(fields[i]);
        if (!t && (name == "timestamp" || name == "time" || name == "ts")) t = i;
        if (!v && name == "value") v = i;
      }
      if (t && v) {
        ts_col = *t;
        value_col = *v;
      } else if (fields.size() >= 2 && parse_csv_timestamp(fields[0]) && parse_number(fields[1])) {
        return fail(line_no, "expected a header line first (timestamp,value)");
      } else if (fields.size() < 2) {
        return fail(line_no, fmt::format("expected a header line with the columns timestamp,value, got \"{}\"", trim(line)));
      }
      continue;
    }
    if (fields.size() <= std::max(ts_col, value_col)) {
      return fail(line_no, fmt::format("expected {} columns (timestamp,value), got {}", std::max(ts_col, value_col) + 1,
                                       fields.size()));
    }
    const std::string& ts_text = fields[ts_col];
    const std::string& value_text = fields[value_col];
    auto ts = parse_csv_timestamp(ts_text);
    if (!ts) return fail(line_no, ts.error().message());
    const auto value = parse_number(value_text);
    if (!value || !std::isfinite(*value)) {
      return fail(line_no, fmt::format("bad value \"{}\": expected a number", value_text));
    }
    // Detectors need time order; a sample from the past (real data has a few, e.g. NAB's
    // machine_temperature) is scored at the latest time seen, so every input row keeps its output row.
    if (previous && *ts < *previous) {
      if (result.out_of_order == 0) result.first_out_of_order_line = line_no;
      ++result.out_of_order;
      ts = *previous;
    }
    previous = *ts;

    // A detector that decides without samples is asked at this sample's time first.
    detect::Decision pending;
    if (const auto due = detector->next_check(); due && *due < *ts) pending = detector->check(*ts);
    const auto bounds = options.keep_points ? detector->bounds() : std::nullopt;
    const detect::Decision d = detector->update(*ts, *value);
    const double score = std::clamp(std::max(pending.score, d.score), 0.0, 1.0);
    out << ts_text << ',' << value_text << ',' << fmt::format("{}", score) << '\n';
    if (options.keep_points) result.points.push_back({*ts, *value, score, pending.firing || d.firing, bounds});
  }
  if (in.bad()) return fail(line_no, "read error");
  if (!header_seen) return fail(0, "empty input: expected a header line and timestamp,value rows");
  return result;
}

int run_detect(const DetectCommand& command) {
  auto fail = [](const std::string& message) {
    fmt::print(stderr, "{}\n", message);
    return 1;
  };
  auto cfg = detector_config(command.detector, command.params);
  if (!cfg) return fail(cfg.error().to_string());
  auto spec = detect::DetectorRegistry::builtin().create(*cfg);
  if (!spec) return fail(spec.error().to_string());

  std::ifstream in(command.input, std::ios::binary);
  if (!in) return fail(fmt::format("{}: cannot open: {}", command.input, std::strerror(errno)));
  std::ofstream file_out;
  if (!command.output.empty()) {
    file_out.open(command.output, std::ios::binary | std::ios::trunc);
    if (!file_out) return fail(fmt::format("{}: cannot write: {}", command.output, std::strerror(errno)));
  }
  std::ostream& out = command.output.empty() ? std::cout : file_out;

  ScoreOptions options;
  options.input_name = command.input;
  options.keep_points = !command.plot.empty();
  // Progress on a terminal, once a run has taken more than a second.
  core::SystemClock clock;
  const auto start = clock.mono_now();
  bool progress_shown = false;
  std::error_code size_error;
  const auto total = std::filesystem::file_size(command.input, size_error);
  if (isatty(STDERR_FILENO) && !size_error && total > 0) {
    options.progress = [&](uint64_t bytes) {
      if (clock.mono_now() - start < std::chrono::seconds(1)) return;
      progress_shown = true;
      fmt::print(stderr, "\rtocsin detect: {} {:3.0f}%", command.input,
                 100.0 * static_cast<double>(std::min<uint64_t>(bytes, total)) / static_cast<double>(total));
    };
  }
  auto scored = score_csv(in, out, **spec, options);
  if (progress_shown) fmt::print(stderr, "\r\033[K");
  if (!scored) return fail(scored.error().to_string());
  if (scored->out_of_order > 0) {
    fmt::print(stderr, "{}:{}: warning: {} sample(s) earlier than the line before, scored at the latest time seen\n",
               command.input, scored->first_out_of_order_line, scored->out_of_order);
  }
  out.flush();
  if (!out) return fail(fmt::format("{}: write failed", command.output.empty() ? "stdout" : command.output));

  if (!command.plot.empty()) {
    DetectPlot plot;
    plot.title = fmt::format("{} on {}", command.detector, std::filesystem::path(command.input).filename().string());
    plot.subtitle = (*spec)->describe();
    plot.points = std::move(scored->points);
    std::ofstream svg(command.plot, std::ios::binary | std::ios::trunc);
    if (!svg) return fail(fmt::format("{}: cannot write: {}", command.plot, std::strerror(errno)));
    svg << render_detect_svg(plot);
    svg.flush();
    if (!svg) return fail(fmt::format("{}: write failed", command.plot));
  }
  return 0;
}

}  // namespace tocsin::cli
