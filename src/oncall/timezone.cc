#include "oncall/timezone.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

namespace tocsin::oncall {

namespace {

using std::chrono::days;
using std::chrono::local_days;
using std::chrono::local_seconds;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

constexpr std::string_view kZoneinfoRoot = "/usr/share/zoneinfo";
constexpr std::size_t kMaxTzifBytes = 1 << 20;
constexpr int64_t kSecondsPerHour = 3600;
constexpr int64_t kMaxOffset = 26 * kSecondsPerHour;
// Rule arithmetic is clamped to years 1..9999 so chrono::year stays in range; no zone rule is
// meaningful beyond that.
constexpr int64_t kMinRuleSecond = -62'135'596'800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxRuleSecond = 253'402'300'799;  // 9999-12-31T23:59:59Z

// When a POSIX rule switches: "Jn" (1..365, Feb 29 never counted), "n" (0..365, counting Feb 29),
// or "Mm.w.d" (day d of week w of month m; week 5 is the last), at `time` local seconds.
struct DateRule {
  enum class Form { kJulianNoLeap, kZeroBased, kMonthWeekDay };
  Form form = Form::kMonthWeekDay;
  int day = 0;
  int month = 0;
  int week = 0;
  int weekday = 0;
  int64_t time = 2 * kSecondsPerHour;
};

// A POSIX TZ string, with offsets east of UTC (the string itself counts west).
struct PosixRule {
  int64_t std_offset = 0;
  bool has_dst = false;
  int64_t dst_offset = 0;
  DateRule start;
  DateRule end;
};

local_days rule_date(const DateRule& r, std::chrono::year y) {
  using std::chrono::January;
  switch (r.form) {
    case DateRule::Form::kJulianNoLeap: {
      local_days d = local_days(y / January / 1) + days(r.day - 1);
      if (y.is_leap() && r.day >= 60) d += days(1);
      return d;
    }
    case DateRule::Form::kZeroBased:
      return local_days(y / January / 1) + days(r.day);
    case DateRule::Form::kMonthWeekDay: {
      const std::chrono::month m(static_cast<unsigned>(r.month));
      const std::chrono::weekday wd(static_cast<unsigned>(r.weekday));
      if (r.week == 5) return local_days(y / m / wd[std::chrono::last]);
      return local_days(y / m / wd[static_cast<unsigned>(r.week)]);
    }
  }
  return local_days(y / January / 1);
}

int64_t rule_offset(const PosixRule& r, int64_t t) {
  if (!r.has_dst) return r.std_offset;
  t = std::clamp(t, kMinRuleSecond, kMaxRuleSecond);
  // The year is the one in local standard time, so a rule's start and end are taken from the
  // same calendar year the wall clock shows.
  const sys_days day = std::chrono::floor<days>(sys_seconds(seconds(t + r.std_offset)));
  const std::chrono::year y = std::chrono::year_month_day(day).year();
  auto instant = [&](const DateRule& d, int64_t offset) {
    return local_seconds(rule_date(d, y)).time_since_epoch().count() + d.time - offset;
  };
  const int64_t start = instant(r.start, r.std_offset);
  const int64_t end = instant(r.end, r.dst_offset);
  // Southern-hemisphere rules have end < start within a calendar year.
  const bool dst = start < end ? (start <= t && t < end) : !(end <= t && t < start);
  return dst ? r.dst_offset : r.std_offset;
}

class PosixParser {
 public:
  explicit PosixParser(std::string_view text) : s_(text) {}

  std::optional<PosixRule> parse() {
    auto r = parse_parts();
    if (!r || std::abs(r->std_offset) > kMaxOffset || std::abs(r->dst_offset) > kMaxOffset) return std::nullopt;
    return r;
  }

 private:
  std::optional<PosixRule> parse_parts() {
    PosixRule r;
    if (!name()) return std::nullopt;
    const auto std_west = hms();
    if (!std_west) return std::nullopt;
    r.std_offset = -*std_west;
    if (at_end()) return r;
    if (!name()) return std::nullopt;
    r.has_dst = true;
    r.dst_offset = r.std_offset + kSecondsPerHour;
    if (!at_end() && peek() != ',') {
      const auto dst_west = hms();
      if (!dst_west) return std::nullopt;
      r.dst_offset = -*dst_west;
    }
    if (at_end()) {
      // POSIX leaves the rule implementation-defined; glibc and tzcode use the US rules.
      r.start = DateRule{DateRule::Form::kMonthWeekDay, 0, 3, 2, 0, 2 * kSecondsPerHour};
      r.end = DateRule{DateRule::Form::kMonthWeekDay, 0, 11, 1, 0, 2 * kSecondsPerHour};
      return r;
    }
    if (!consume(',')) return std::nullopt;
    const auto start = date_rule();
    if (!start || !consume(',')) return std::nullopt;
    const auto end = date_rule();
    if (!end || !at_end()) return std::nullopt;
    r.start = *start;
    r.end = *end;
    return r;
  }

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  bool is_digit() const { return !at_end() && peek() >= '0' && peek() <= '9'; }
  bool consume(char c) {
    if (at_end() || peek() != c) return false;
    ++i_;
    return true;
  }

  // "CET", or "<+0330>" for names that are not purely alphabetic.
  bool name() {
    if (consume('<')) {
      const auto close = s_.find('>', i_);
      if (close == std::string_view::npos || close == i_) return false;
      i_ = close + 1;
      return true;
    }
    const std::size_t begin = i_;
    while (!at_end() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) ++i_;
    return i_ - begin >= 3;
  }

  std::optional<int64_t> number(int max_digits) {
    if (!is_digit()) return std::nullopt;
    int64_t v = 0;
    for (int n = 0; n < max_digits && is_digit(); ++n) v = v * 10 + (s_[i_++] - '0');
    if (is_digit()) return std::nullopt;
    return v;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536 extends POSIX's 24 for rule times).
  std::optional<int64_t> hms() {
    int64_t sign = 1;
    if (consume('-')) {
      sign = -1;
    } else {
      consume('+');
    }
    const auto h = number(3);
    if (!h || *h > 167) return std::nullopt;
    int64_t total = *h * kSecondsPerHour;
    for (int64_t unit : {int64_t{60}, int64_t{1}}) {
      if (!consume(':')) break;
      const auto v = number(2);
      if (!v || *v > 59) return std::nullopt;
      total += *v * unit;
    }
    return sign * total;
  }

  std::optional<DateRule> date_rule() {
    DateRule d;
    if (consume('J')) {
      const auto n = number(3);
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      d.form = DateRule::Form::kJulianNoLeap;
      d.day = static_cast<int>(*n);
    } else if (consume('M')) {
      const auto m = number(2);
      if (!m || *m < 1 || *m > 12 || !consume('.')) return std::nullopt;
      const auto w = number(1);
      if (!w || *w < 1 || *w > 5 || !consume('.')) return std::nullopt;
      const auto wd = number(1);
      if (!wd || *wd > 6) return std::nullopt;
      d.form = DateRule::Form::kMonthWeekDay;
      d.month = static_cast<int>(*m);
      d.week = static_cast<int>(*w);
      d.weekday = static_cast<int>(*wd);
    } else {
      const auto n = number(3);
      if (!n || *n > 365) return std::nullopt;
      d.form = DateRule::Form::kZeroBased;
      d.day = static_cast<int>(*n);
    }
    if (consume('/')) {
      const auto t = hms();
      if (!t) return std::nullopt;
      d.time = *t;
    }
    return d;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Big-endian reads over a byte buffer; a read past the end leaves ok() false.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : d_(data) {}

  bool ok() const { return ok_; }
  std::size_t pos() const { return pos_; }
  bool has(std::size_t n) const { return ok_ && d_.size() - pos_ >= n; }

  void skip(std::size_t n) {
    if (!has(n)) {
      ok_ = false;
      return;
    }
    pos_ += n;
  }
  std::string_view bytes(std::size_t n) {
    if (!has(n)) {
      ok_ = false;
      return {};
    }
    pos_ += n;
    return d_.substr(pos_ - n, n);
  }
  uint64_t unsigned_be(std::size_t width) {
    uint64_t v = 0;
    for (char c : bytes(width)) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }
  int64_t i64() { return static_cast<int64_t>(unsigned_be(8)); }
  int32_t i32() { return static_cast<int32_t>(static_cast<uint32_t>(unsigned_be(4))); }
  uint32_t u32() { return static_cast<uint32_t>(unsigned_be(4)); }
  uint8_t u8() { return static_cast<uint8_t>(unsigned_be(1)); }

 private:
  std::string_view d_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

struct TzifCounts {
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

  std::size_t block_size(std::size_t time_size) const {
    return std::size_t{timecnt} * time_size + timecnt + std::size_t{typecnt} * 6 + charcnt +
           std::size_t{leapcnt} * (time_size + 4) + isstdcnt + isutcnt;
  }
};

// The 44-byte header: magic, version, 15 unused bytes, six counts.
std::optional<std::pair<char, TzifCounts>> read_header(ByteReader& in) {
  if (in.bytes(4) != "TZif") return std::nullopt;
  const auto version = in.bytes(1);
  in.skip(15);
  TzifCounts c;
  c.isutcnt = in.u32();
  c.isstdcnt = in.u32();
  c.leapcnt = in.u32();
  c.timecnt = in.u32();
  c.typecnt = in.u32();
  c.charcnt = in.u32();
  if (!in.ok()) return std::nullopt;
  return std::pair{version[0], c};
}

core::Error malformed(std::string_view name, std::string_view why) {
  return core::Error::invalid_argument(fmt::format("time zone '{}': malformed TZif data: {}", name, why));
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/') return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+' || c == '.';
    if (!ok) return false;
  }
  std::size_t begin = 0;
  while (begin <= name.size()) {
    std::size_t end = name.find('/', begin);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(begin, end - begin);
    if (part.empty() || part == "." || part == "..") return false;
    begin = end + 1;
  }
  return true;
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  std::vector<int64_t> transitions;  // UTC seconds, ascending
  std::vector<int64_t> offsets;      // offsets[i] is in effect from transitions[i]
  int64_t initial_offset = 0;        // before the first transition (RFC 8536: time type 0)
  std::optional<PosixRule> footer;   // after the last transition

  int64_t offset_at(int64_t t) const {
    const auto it = std::upper_bound(transitions.begin(), transitions.end(), t);
    if (it == transitions.end() && footer) return rule_offset(*footer, t);
    if (it == transitions.begin()) return initial_offset;
    return offsets[static_cast<std::size_t>(std::distance(transitions.begin(), it) - 1)];
  }
};

TimeZone TimeZone::utc() {
  static const TimeZone kUtc([] {
    auto d = std::make_shared<Data>();
    d->name = "UTC";
    return std::shared_ptr<const Data>(std::move(d));
  }());
  return kUtc;
}

core::Result<TimeZone> TimeZone::from_posix(std::string name, std::string_view rule) {
  auto parsed = PosixParser(rule).parse();
  if (!parsed) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("time zone '{}': bad POSIX TZ rule '{}'", name, rule)));
  }
  auto d = std::make_shared<Data>();
  d->name = std::move(name);
  d->initial_offset = parsed->std_offset;
  d->footer = *parsed;
  return TimeZone(std::move(d));
}

core::Result<TimeZone> TimeZone::from_tzif(std::string name, std::string_view tzif) {
  ByteReader in(tzif);
  auto header = read_header(in);
  if (!header) return std::unexpected(malformed(name, "bad header"));
  auto [version, counts] = *header;
  std::size_t time_size = 4;
  if (version != '\0') {
    // v2+: skip the 32-bit block and read the 64-bit one that follows, with its own header.
    in.skip(counts.block_size(4));
    header = read_header(in);
    if (!header) return std::unexpected(malformed(name, "bad second header"));
    counts = header->second;
    time_size = 8;
  }
  if (counts.typecnt == 0) return std::unexpected(malformed(name, "no local time types"));
  if (!in.has(counts.block_size(time_size))) return std::unexpected(malformed(name, "truncated"));

  auto d = std::make_shared<Data>();
  d->name = name;
  d->transitions.reserve(counts.timecnt);
  for (uint32_t i = 0; i < counts.timecnt; ++i) {
    const int64_t t = time_size == 8 ? in.i64() : in.i32();
    if (!d->transitions.empty() && t <= d->transitions.back()) {
      return std::unexpected(malformed(name, "transitions not ascending"));
    }
    d->transitions.push_back(t);
  }
  std::vector<uint8_t> type_of(counts.timecnt);
  for (auto& idx : type_of) {
    idx = in.u8();
    if (idx >= counts.typecnt) return std::unexpected(malformed(name, "bad type index"));
  }
  std::vector<int64_t> type_offsets(counts.typecnt);
  for (auto& off : type_offsets) {
    off = in.i32();
    in.skip(2);  // isdst, desigidx: unused
    if (std::abs(off) > kMaxOffset) return std::unexpected(malformed(name, "offset out of range"));
  }
  in.skip(counts.charcnt + std::size_t{counts.leapcnt} * (time_size + 4) + counts.isstdcnt + counts.isutcnt);
  if (!in.ok()) return std::unexpected(malformed(name, "truncated"));

  d->initial_offset = type_offsets[0];
  d->offsets.reserve(type_of.size());
  for (uint8_t idx : type_of) d->offsets.push_back(type_offsets[idx]);

  if (time_size == 8 && in.has(1)) {
    // Footer: "\n" TZ-string "\n"; an empty string means the last type holds forever.
    const std::string_view rest = tzif.substr(in.pos());
    const auto close = rest.find('\n', 1);
    if (rest.front() != '\n' || close == std::string_view::npos) return std::unexpected(malformed(name, "bad footer"));
    const std::string_view rule = rest.substr(1, close - 1);
    if (!rule.empty()) {
      auto parsed = PosixParser(rule).parse();
      if (!parsed) return std::unexpected(malformed(name, fmt::format("bad footer rule '{}'", rule)));
      d->footer = *parsed;
    }
  }
  return TimeZone(std::move(d));
}

core::Result<TimeZone> TimeZone::load(std::string_view name, const std::filesystem::path& zoneinfo_root) {
  if (name == "UTC") return utc();
  if (!valid_zone_name(name)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("unknown time zone '{}'", name)));
  }
  const std::filesystem::path path = zoneinfo_root / std::filesystem::path(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("unknown time zone '{}'", name)));
  }
  std::ifstream file(path, std::ios::binary);
  std::string bytes;
  bytes.resize(kMaxTzifBytes + 1);
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (file.bad() || file.gcount() <= 0 || static_cast<std::size_t>(file.gcount()) > kMaxTzifBytes) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("time zone '{}': cannot read {}", name, path.string())));
  }
  bytes.resize(static_cast<std::size_t>(file.gcount()));
  return from_tzif(std::string(name), bytes);
}

core::Result<TimeZone> TimeZone::load(std::string_view name) {
  if (name == "UTC") return utc();
  // Zone files do not change while tocsin runs (a tzdata upgrade takes a restart), so a zone is
  // read once; failures are not cached so a fixed name works on the next reload.
  static std::mutex mu;
  static std::map<std::string, TimeZone, std::less<>> cache;
  const std::lock_guard lock(mu);
  if (const auto it = cache.find(name); it != cache.end()) return it->second;
  auto loaded = load(name, std::filesystem::path(kZoneinfoRoot));
  if (loaded) cache.emplace(std::string(name), *loaded);
  return loaded;
}

const std::string& TimeZone::name() const { return data_->name; }

std::chrono::seconds TimeZone::offset_at(core::Timestamp utc) const {
  return seconds(data_->offset_at(std::chrono::floor<seconds>(utc).time_since_epoch().count()));
}

std::chrono::local_seconds TimeZone::to_local_seconds(core::Timestamp utc) const {
  const seconds t = std::chrono::floor<seconds>(utc).time_since_epoch();
  return local_seconds(t + seconds(data_->offset_at(t.count())));
}

config::LocalTime TimeZone::to_local(core::Timestamp utc) const {
  return std::chrono::floor<std::chrono::minutes>(to_local_seconds(utc));
}

core::Timestamp TimeZone::to_utc(std::chrono::local_seconds local) const {
  const int64_t l = local.time_since_epoch().count();
  // The offsets on either side of `local`: far enough apart to cover any UTC offset, close enough
  // that no zone has two transitions in between.
  constexpr int64_t kReach = 30 * kSecondsPerHour;
  const int64_t before = data_->offset_at(l - kReach);
  const int64_t after = data_->offset_at(l + kReach);
  std::optional<int64_t> best;
  for (int64_t off : {before, after}) {
    const int64_t u = l - off;
    if (data_->offset_at(u) == off && (!best || u < *best)) best = u;
  }
  // No candidate maps back: `local` is in a gap. Reading it with the offset from before the gap
  // lands that many seconds past the transition, i.e. shifted forward by the gap.
  const int64_t u = best.value_or(l - before);
  return core::Timestamp(seconds(u));
}

}  // namespace tocsin::oncall
