#include "core/duration.h"

#include <fmt/format.h>

#include <array>
#include <limits>

namespace tocsin::core {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
constexpr std::array<Unit, 7> kUnits{{{"y", 365LL * 24 * 3600 * 1000},
                                      {"w", 7LL * 24 * 3600 * 1000},
                                      {"d", 24LL * 3600 * 1000},
                                      {"h", 3600LL * 1000},
                                      {"m", 60LL * 1000},
                                      {"s", 1000},
                                      {"ms", 1}}};

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("bad duration \"{}\": {}; expected Prometheus syntax like 30s, 5m, 1h30m, 90d", text, why)));
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return Duration{0};
  int64_t total = 0;
  size_t pos = 0;
  size_t next_unit = 0;  // units must appear in kUnits order
  while (pos < text.size()) {
    if (text[pos] < '0' || text[pos] > '9') return bad("expected a number");
    int64_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return bad("too large");
      n = n * 10 + (text[pos] - '0');
      ++pos;
    }
    size_t unit_end = pos;
    while (unit_end < text.size() && (text[unit_end] < '0' || text[unit_end] > '9')) ++unit_end;
    const std::string_view unit = text.substr(pos, unit_end - pos);
    if (unit.empty()) return bad("missing unit (one of y, w, d, h, m, s, ms)");
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) {
      for (const auto& known : kUnits) {
        if (known.name == unit) return bad(fmt::format("unit \"{}\" out of order or repeated", unit));
      }
      return bad(fmt::format("unknown unit \"{}\"", unit));
    }
    if (n > std::numeric_limits<int64_t>::max() / kUnits[u].ms ||
        total > std::numeric_limits<int64_t>::max() - n * kUnits[u].ms)
      return bad("too large");
    total += n * kUnits[u].ms;
    next_unit = u + 1;
    pos = unit_end;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  for (const auto& unit : kUnits) {
    if (ms >= unit.ms) {
      out += fmt::format("{}{}", ms / unit.ms, unit.name);
      ms %= unit.ms;
    }
  }
  return out;
}

std::optional<Timestamp> parse_time_or_ago(std::string_view text, Timestamp now) {
  if (auto t = parse_rfc3339(text)) return *t;
  if (auto d = parse_duration(text)) return now - *d;
  return std::nullopt;
}

}  // namespace tocsin::core
