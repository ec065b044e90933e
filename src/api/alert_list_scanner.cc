#include "api/alert_list_scanner.h"

#include <algorithm>
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

bool by_name(const core::LabelRef& a, const core::LabelRef& b) { return a.name < b.name; }

// Sorts pairs[from, end) by name (Prometheus sends them sorted already); false on a duplicate name.
bool sort_unique(std::vector<core::LabelRef>& pairs, size_t from) {
  const auto first = pairs.begin() + static_cast<std::ptrdiff_t>(from);
  if (!std::is_sorted(first, pairs.end(), by_name)) std::sort(first, pairs.end(), by_name);
  return std::adjacent_find(first, pairs.end(), [](const core::LabelRef& a, const core::LabelRef& b) {
           return a.name == b.name;
         }) == pairs.end();
}

// {"name": "value", …} appended to `out`; `labels` checks label names.
bool string_map(Scanner& s, bool labels, std::vector<core::LabelRef>& out) {
  if (s.null()) return true;
  if (!s.eat('{')) return false;
  if (s.eat('}')) return true;
  do {
    std::string_view key, value;
    if (!s.string(key) || !s.eat(':') || !s.string(value)) return false;
    if (labels && !core::is_valid_label_name(key)) return false;
    out.push_back({key, value});
  } while (s.eat(','));
  return s.eat('}');
}

class Reader {
 public:
  Reader(std::string_view body, core::Timestamp now, std::optional<core::Duration> resolve_timeout, ScannedAlerts& out)
      : s_(body), now_(now), resolve_timeout_(resolve_timeout), out_(out) {}

  bool list() {
    out_.alerts.clear();
    out_.labels.clear();
    out_.annotations.clear();
    out_.counts.clear();
    if (!s_.eat('[')) return false;
    if (!s_.eat(']')) {
      do {
        if (!alert()) return false;
      } while (s_.eat(','));
      if (!s_.eat(']')) return false;
    }
    if (!s_.at_end()) return false;
    // The pairs are all read: the vectors no longer move, and the views can point into them.
    size_t l = 0, n = 0;
    for (size_t i = 0; i < out_.alerts.size(); ++i) {
      const auto [labels, annotations] = out_.counts[i];
      out_.alerts[i].labels = std::span<const core::LabelRef>(out_.labels.data() + l, labels);
      out_.alerts[i].annotations = std::span<const core::LabelRef>(out_.annotations.data() + n, annotations);
      l += labels;
      n += annotations;
    }
    return true;
  }

 private:
  // A time member: null, Go's zero time and "" are none.
  bool time_value(std::optional<core::Timestamp>& out) {
    if (s_.null()) return true;
    std::string_view text;
    if (!s_.string(text)) return false;
    if (text.empty() || text.starts_with("0001-01-01T00:00:00")) return true;
    // Prometheus gives every alert of an evaluation the same endsAt: parsed once per body.
    if (text != last_text_) {
      auto t = core::parse_rfc3339(text);
      if (!t) return false;
      last_text_ = text;
      last_time_ = *t;
    }
    out = last_time_;
    return true;
  }

  bool alert() {
    if (!s_.eat('{')) return false;
    enum : unsigned { kLabels = 1, kAnnotations = 2, kStarts = 4, kEnds = 8, kGenerator = 16 };
    unsigned seen = 0;
    const size_t labels_from = out_.labels.size();
    const size_t annotations_from = out_.annotations.size();
    std::optional<core::Timestamp> starts, ends;
    alerting::AlertView& v = out_.alerts.emplace_back();
    if (!s_.peek('}')) {
      do {
        std::string_view key;
        if (!s_.string(key) || !s_.eat(':')) return false;
        unsigned bit = 0;
        bool ok = false;
        if (key == "labels") {
          bit = kLabels;
          ok = string_map(s_, true, out_.labels);
        } else if (key == "annotations") {
          bit = kAnnotations;
          ok = string_map(s_, false, out_.annotations);
        } else if (key == "startsAt") {
          bit = kStarts;
          ok = time_value(starts);
        } else if (key == "endsAt") {
          bit = kEnds;
          ok = time_value(ends);
        } else if (key == "generatorURL") {
          bit = kGenerator;
          ok = s_.null() || s_.string(v.generator_url);
        }
        if (!ok || (seen & bit)) return false;
        seen |= bit;
      } while (s_.eat(','));
    }
    if (!s_.eat('}')) return false;
    // A duplicate label or annotation: the general reader decides (it keeps the last).
    if (!sort_unique(out_.labels, labels_from) || !sort_unique(out_.annotations, annotations_from)) return false;
    // An empty label value is no label (as in Prometheus). Dropping empties only after the check
    // above matters: the scanner used to drop them first and so missed a duplicate whose last
    // value is empty, keeping the first value where the general reader keeps the last (found by
    // fuzz/alertmanager_fuzz.cc).
    out_.labels.erase(std::remove_if(out_.labels.begin() + static_cast<std::ptrdiff_t>(labels_from), out_.labels.end(),
                                     [](const core::LabelRef& l) { return l.value.empty(); }),
                      out_.labels.end());
    const size_t labels = out_.labels.size() - labels_from;
    if (labels == 0) return false;
    v.fingerprint = core::fingerprint_of(std::span<const core::LabelRef>(out_.labels.data() + labels_from, labels));
    auto times = alerting::received_times(starts, ends, now_, resolve_timeout_);
    if (!times) return false;
    v.times = *times;
    out_.counts.emplace_back(static_cast<uint32_t>(labels),
                             static_cast<uint32_t>(out_.annotations.size() - annotations_from));
    return true;
  }

  Scanner s_;
  core::Timestamp now_;
  std::optional<core::Duration> resolve_timeout_;
  ScannedAlerts& out_;
  std::string_view last_text_;
  core::Timestamp last_time_{};
};

}  // namespace

bool scan_alert_views(std::string_view body, core::Timestamp now, std::optional<core::Duration> resolve_timeout,
                      ScannedAlerts& out) {
  return Reader(body, now, resolve_timeout, out).list();
}

std::optional<std::vector<alerting::Alert>> scan_alert_list(std::string_view body, core::Timestamp now,
                                                            std::optional<core::Duration> resolve_timeout) {
  ScannedAlerts scanned;
  if (!scan_alert_views(body, now, resolve_timeout, scanned)) return std::nullopt;
  std::vector<alerting::Alert> out;
  out.reserve(scanned.alerts.size());
  for (const auto& v : scanned.alerts) out.push_back(alerting::to_alert(v));
  return out;
}

}  // namespace tocsin::api
