#include "api/alert_list_scanner.h"

#include <cstring>

#include "core/labels.h"
#include "core/utf8.h"

namespace tocsin::api {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(char c) {
    skip_ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_ws();
    return p_ < end_ && *p_ == c;
  }
  bool at_end() {
    skip_ws();
    return p_ == end_;
  }
  // A string without escapes or control characters, valid UTF-8.
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* start = p_;
    unsigned char high = 0;  // any byte >= 0x80: only then is there UTF-8 to check
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c == '\\' || c < 0x20) return false;
      high |= c;
      ++p_;
    }
    if (p_ == end_) return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return (high & 0x80) == 0 || core::is_valid_utf8(out);
  }
  bool null() {
    skip_ws();
    if (end_ - p_ >= 4 && std::memcmp(p_, "null", 4) == 0) {
      p_ += 4;
      return true;
    }
    return false;
  }

 private:
  const char* p_;
  const char* end_;
};

// {"name": "value", …}; `labels` applies label rules (valid names, empty values dropped).
bool string_map(Scanner& s, bool labels, std::vector<core::Label>* label_pairs,
                std::map<std::string, std::string>* annotations) {
  if (s.null()) return true;
  if (!s.eat('{')) return false;
  if (s.eat('}')) return true;
  do {
    std::string_view key, value;
    if (!s.string(key) || !s.eat(':') || !s.string(value)) return false;
    if (labels) {
      if (!core::is_valid_label_name(key)) return false;
      // Empty values are kept until the duplicate check: {"a": "x", "a": ""} is a duplicate.
      label_pairs->push_back({std::string(key), std::string(value)});
    } else if (!annotations->emplace(std::string(key), std::string(value)).second) {
      return false;  // a duplicate key: the general reader decides
    }
  } while (s.eat(','));
  return s.eat('}');
}

// A time member: null, Go's zero time and "" are none.
bool time_value(Scanner& s, std::optional<core::Timestamp>& out) {
  if (s.null()) return true;
  std::string_view text;
  if (!s.string(text)) return false;
  if (text.empty() || text.starts_with("0001-01-01T00:00:00")) return true;
  auto t = core::parse_rfc3339(text);
  if (!t) return false;
  out = *t;
  return true;
}

bool alert(Scanner& s, core::Timestamp now, std::optional<core::Duration> resolve_timeout, alerting::Alert& a) {
  if (!s.eat('{')) return false;
  enum : unsigned { kLabels = 1, kAnnotations = 2, kStarts = 4, kEnds = 8, kGenerator = 16 };
  unsigned seen = 0;
  std::vector<core::Label> pairs;
  std::optional<core::Timestamp> starts, ends;
  if (!s.peek('}')) {
    do {
      std::string_view key;
      if (!s.string(key) || !s.eat(':')) return false;
      unsigned bit = 0;
      bool ok = false;
      if (key == "labels") {
        bit = kLabels;
        ok = string_map(s, true, &pairs, nullptr);
      } else if (key == "annotations") {
        bit = kAnnotations;
        ok = string_map(s, false, nullptr, &a.annotations);
      } else if (key == "startsAt") {
        bit = kStarts;
        ok = time_value(s, starts);
      } else if (key == "endsAt") {
        bit = kEnds;
        ok = time_value(s, ends);
      } else if (key == "generatorURL") {
        bit = kGenerator;
        std::string_view url;
        ok = s.null() || (s.string(url) && (a.generator_url.assign(url.data(), url.size()), true));
      }
      if (!ok || (seen & bit)) return false;
      seen |= bit;
    } while (s.eat(','));
  }
  if (!s.eat('}')) return false;
  for (size_t i = 0; i < pairs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (pairs[i].name == pairs[j].name) return false;
    }
  }
  // An empty label value is no label (as in Prometheus). Dropping empties only after the check
  // above matters: the scanner used to drop them first and so missed a duplicate whose last
  // value is empty, keeping the first value where the general reader keeps the last (found by
  // fuzz/alertmanager_fuzz.cc).
  std::erase_if(pairs, [](const core::Label& l) { return l.value.empty(); });
  if (pairs.empty()) return false;
  a.labels = core::Labels::from_pairs(std::move(pairs));
  a.fingerprint = a.labels.fingerprint();
  return alerting::set_received_times(a, starts, ends, now, resolve_timeout);
}

}  // namespace

std::optional<std::vector<alerting::Alert>> scan_alert_list(std::string_view body, core::Timestamp now,
                                                            std::optional<core::Duration> resolve_timeout) {
  Scanner s(body);
  std::vector<alerting::Alert> out;
  out.reserve(body.size() / 256 + 1);  // Prometheus' alerts are 300–600 bytes of JSON
  if (!s.eat('[')) return std::nullopt;
  if (!s.eat(']')) {
    do {
      if (!alert(s, now, resolve_timeout, out.emplace_back())) return std::nullopt;
    } while (s.eat(','));
    if (!s.eat(']')) return std::nullopt;
  }
  if (!s.at_end()) return std::nullopt;
  return out;
}

}  // namespace tocsin::api
