#include "chart/theme.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>

#include "core/xml.h"

namespace tocsin::chart {

std::string style_sheet() {
  // Palette: mid-tone hues that keep contrast on white and on near-black, told apart also by
  // lightness; dark mode lightens them a little.
  return "<style>\n"
         "svg{color-scheme:light dark}\n"
         ".bg{fill:#ffffff}text{fill:#1f2328}.muted{fill:#57606a}\n"
         ".grid{stroke:#e6e8eb}.frame{stroke:#8c959f;fill:none}.bound{stroke:#6e7781}\n"
         ".firing{fill:#e5534b;fill-opacity:0.2}.firing-edge{stroke:#e5534b}\n"
         ".c0{stroke:#1f6feb}.c1{stroke:#d1670a}.c2{stroke:#1a7f37}.c3{stroke:#8250df}.c4{stroke:#bf3989}.c5{stroke:#"
         "0a7d8c}\n"
         ".f0{fill:#1f6feb}.f1{fill:#d1670a}.f2{fill:#1a7f37}.f3{fill:#8250df}.f4{fill:#bf3989}.f5{fill:#0a7d8c}\n"
         "@media (prefers-color-scheme:dark){\n"
         ".bg{fill:#0d1117}text{fill:#e6edf3}.muted{fill:#9198a1}\n"
         ".grid{stroke:#30363d}.frame{stroke:#6e7681}.bound{stroke:#9198a1}\n"
         ".firing{fill:#f85149;fill-opacity:0.28}.firing-edge{stroke:#f85149}\n"
         ".c0{stroke:#58a6ff}.c1{stroke:#f0883e}.c2{stroke:#3fb950}.c3{stroke:#a371f7}.c4{stroke:#f778ba}.c5{stroke:#"
         "39c5cf}\n"
         ".f0{fill:#58a6ff}.f1{fill:#f0883e}.f2{fill:#3fb950}.f3{fill:#a371f7}.f4{fill:#f778ba}.f5{fill:#39c5cf}\n"
         "}\n"
         "</style>\n";
}

std::string svg_open(double width, double height, std::string_view title, std::string_view desc) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
      "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<title>{2}</title>\n<desc>{3}</desc>\n{4}"
      "<rect class=\"bg\" width=\"{0}\" height=\"{1}\"/>\n",
      width, height, core::xml_escape(title), core::xml_escape(desc), style_sheet());
}

std::string line_dash(size_t index) {
  static constexpr std::string_view kDashes[] = {"6 3", "2 3", "8 3 2 3"};
  if (index < static_cast<size_t>(kPaletteSize)) return "";
  return fmt::format(" stroke-dasharray=\"{}\"", kDashes[(index / kPaletteSize - 1) % std::size(kDashes)]);
}

namespace {

std::string time_label(int64_t ms, int64_t step_ms, int64_t span_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(ms)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  constexpr int64_t kDay = 86'400'000;
  if (step_ms >= kDay) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()));
  }
  std::string clock = step_ms < 60'000 ? fmt::format("{:02}:{:02}:{:02}", hms.hours().count(), hms.minutes().count(),
                                                     hms.seconds().count())
                                       : fmt::format("{:02}:{:02}", hms.hours().count(), hms.minutes().count());
  if (span_ms > kDay) {
    return fmt::format("{:02}-{:02} {}", static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), clock);
  }
  return clock;
}

}  // namespace

std::vector<TimeTick> time_ticks(int64_t t0, int64_t t1, int max_ticks) {
  constexpr int64_t kSteps[] = {1'000,       2'000,       5'000,         10'000,        15'000,        30'000,
                                60'000,      120'000,     300'000,       600'000,       900'000,       1'800'000,
                                3'600'000,   7'200'000,   10'800'000,    21'600'000,    43'200'000,    86'400'000,
                                172'800'000, 604'800'000, 1'209'600'000, 2'592'000'000, 7'776'000'000, 31'536'000'000};
  const int64_t span = std::max<int64_t>(t1 - t0, 1);
  int64_t step = kSteps[std::size(kSteps) - 1];
  for (int64_t st : kSteps) {
    if (span / st <= max_ticks) {
      step = st;
      break;
    }
  }
  while (span / step > max_ticks) step *= 2;
  std::vector<TimeTick> ticks;
  // Round down toward −∞ and step up, so times before 1970 are handled too.
  int64_t first = t0 / step * step;
  if (first < t0) first += step;
  for (int64_t t = first; t <= t1; t += step) ticks.push_back({t, time_label(t, step, span)});
  return ticks;
}

std::string humanize_seconds(double seconds) {
  if (!std::isfinite(seconds)) return fmt::format("{}", seconds);
  if (std::fabs(seconds) < 1e-9) return "0";
  const std::string sign = seconds < 0 ? "-" : "";
  double s = std::fabs(seconds);
  if (s < 1) return fmt::format("{}{:.3g}ms", sign, s * 1000);
  if (s < 60) return fmt::format("{}{:.3g}s", sign, s);
  auto whole = static_cast<int64_t>(std::llround(s));
  struct Unit {
    int64_t seconds;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86'400, "d"}, {3'600, "h"}, {60, "m"}, {1, "s"}};
  std::string out = sign;
  int parts = 0;
  for (const Unit& u : kUnits) {
    if (whole >= u.seconds && parts < 2) {
      out += fmt::format("{}{}", whole / u.seconds, u.name);
      whole %= u.seconds;
      ++parts;
    } else if (parts > 0) {
      ++parts;  // only adjacent units: "1h5m", never "1d5s"
    }
  }
  return out;
}

double nice_seconds_step(double range, int target) {
  static constexpr double kSteps[] = {1,    2,    5,    10,    15,    30,    60,    120,    300,    600,     900,
                                      1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000};
  if (range < target) return core::nice_step(range, target);  // sub-second: decimal steps
  const double want = range / target;
  for (double s : kSteps) {
    if (s >= want) return s;
  }
  return std::ceil(want / 2592000) * 2592000;
}

std::string number_label(double v, double step) {
  return fmt::format("{:.6g}", std::fabs(v) < std::fabs(step) * 1e-9 ? 0.0 : v);
}

}  // namespace tocsin::chart
