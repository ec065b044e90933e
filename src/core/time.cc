#include "core/time.h"

#include <fmt/format.h>

#include <charconv>

namespace tocsin::core {

namespace {

// Whole seconds, then ".fff" (all three digits) or, with `trim_zeros`, the digits up to the last
// non-zero one.
std::string format_utc(Timestamp t, bool trim_zeros) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  const auto ms = hms.subseconds().count();
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  if (ms != 0) {
    std::string fraction = fmt::format("{:03}", ms);
    if (trim_zeros) fraction.erase(fraction.find_last_not_of('0') + 1);
    out += '.' + fraction;
  }
  out += 'Z';
  return out;
}

}  // namespace

std::string format_rfc3339(Timestamp t) { return format_utc(t, false); }
std::string format_rfc3339_nano(Timestamp t) { return format_utc(t, true); }

namespace {

bool read_int(std::string_view text, size_t pos, size_t len, int& out) {
  if (pos + len > text.size()) return false;
  for (size_t i = pos; i < pos + len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  std::from_chars(text.data() + pos, text.data() + pos + len, out);
  return true;
}

}  // namespace

Result<Timestamp> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  auto bad = [&] {
    return std::unexpected(Error::invalid_argument(
        fmt::format("bad timestamp \"{}\": expected RFC 3339 like 2026-01-05T09:00:00Z", text)));
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':')
    return bad();
  if (!read_int(text, 0, 4, y) || !read_int(text, 5, 2, mo) || !read_int(text, 8, 2, d) ||
      !read_int(text, 11, 2, h) || !read_int(text, 14, 2, mi) || !read_int(text, 17, 2, s))
    return bad();
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0, om = 0;
    if (pos + 6 > text.size() || text[pos + 3] != ':' || !read_int(text, pos + 1, 2, oh) ||
        !read_int(text, pos + 4, 2, om))
      return bad();
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return bad();
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{millis} -
                 minutes{offset_minutes};
  // A leap second or an offset can carry the time out of the four-digit years, where it could
  // not be written back (found by fuzz/duration_fuzz.cc: 9999-12-31T23:59:60Z).
  constexpr sys_days kFirst{year{0} / January / 1};
  constexpr sys_days kPastLast{year{10000} / January / 1};
  if (t < kFirst || t >= kPastLast) return bad();
  return time_point_cast<milliseconds>(t);
}

}  // namespace tocsin::core
