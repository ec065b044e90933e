#include "ingest/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "core/utf8.h"

namespace tocsin::ingest {

using core::Error;

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// A token quoted for an error message: cut short, and never echoing bytes that are not UTF-8.
std::string shown(std::string_view token) {
  constexpr size_t kMax = 40;
  if (token.size() > kMax) token = token.substr(0, kMax);
  if (!core::is_valid_utf8(token)) return "<not UTF-8>";
  return fmt::format("\"{}\"", token);
}

// Parses one line; `line_no` only labels errors. Owns no state between lines.
class LineParser {
 public:
  LineParser(std::string_view line, int line_no) : line_(line), line_no_(line_no) {}

  // A sample line; returns the sample, or an error naming the line.
  core::Result<core::Sample> sample(core::Timestamp now) {
    const std::string_view name = take_while(pos_, [](char c) { return is_name_char(c) || c == ':'; });
    if (name.empty() || !core::is_valid_metric_name(name)) {
      pos_ = 0;
      return error(fmt::format("expected a metric name, got {}", shown(rest_token())));
    }
    std::vector<core::Label> pairs;
    skip_blanks();
    std::string_view after = "after the metric name";
    if (peek() == '{') {
      ++pos_;
      pairs = TOCSIN_TRY(labels());
      after = "after the labels";
    }
    pairs.push_back(core::Label{"__name__", std::string(name)});
    skip_blanks();
    const std::string_view value_token = token();
    if (value_token.empty()) return error(fmt::format("expected a value {}", after));
    const double value = TOCSIN_TRY(parse_value(value_token));
    skip_blanks();
    core::Timestamp ts = now;
    const std::string_view ts_token = token();
    if (!ts_token.empty()) {
      int64_t ms = 0;
      auto [ptr, ec] = std::from_chars(ts_token.data(), ts_token.data() + ts_token.size(), ms);
      if (ec != std::errc() || ptr != ts_token.data() + ts_token.size()) {
        return error(fmt::format("bad timestamp {}: expected an integer (Unix time in milliseconds)", shown(ts_token)));
      }
      ts = core::from_unix_ms(ms);
      skip_blanks();
      if (pos_ < line_.size()) return error(fmt::format("unexpected text {} after the timestamp", shown(line_.substr(pos_))));
    }
    return core::Sample{core::Labels::from_pairs(std::move(pairs)), value, ts};
  }

  // A line starting with '#': HELP and TYPE are checked, anything else is a free comment.
  core::Status comment() {
    ++pos_;  // '#'
    skip_blanks();
    const std::string_view keyword = token();
    if (keyword != "HELP" && keyword != "TYPE") return {};
    skip_blanks();
    const std::string_view name = token();
    if (name.empty()) return error(fmt::format("expected a metric name after {}", keyword));
    if (!core::is_valid_metric_name(name)) {
      return error(fmt::format("bad metric name {} after {}: expected [a-zA-Z_:][a-zA-Z0-9_:]*", shown(name), keyword));
    }
    if (keyword == "HELP") return {};
    skip_blanks();
    const std::string_view type = token();
    static constexpr std::array<std::string_view, 5> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
    if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
      return error(fmt::format("unknown metric type {}: expected counter, gauge, histogram, summary or untyped",
                               type.empty() ? "\"\"" : shown(type)));
    }
    skip_blanks();
    if (pos_ < line_.size()) return error(fmt::format("unexpected text {} after the metric type", shown(line_.substr(pos_))));
    return {};
  }

 private:
  // Reads `name="value", …}` after the opening brace.
  core::Result<std::vector<core::Label>> labels() {
    std::vector<core::Label> pairs;
    while (true) {
      skip_blanks();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const size_t start = pos_;
      const std::string_view name = take_while(start, is_name_char);
      if (name.empty() || !is_name_start(name.front())) {
        pos_ = start;
        if (pos_ >= line_.size()) return error("expected a label name or '}', got the end of the line");
        return error(fmt::format("expected a label name or '}}', got {}", shown(rest_token())));
      }
      if (name == "__name__") return error("label name \"__name__\" is reserved: write the metric name before the braces");
      skip_blanks();
      if (peek() != '=') return error(fmt::format("expected '=' after label name \"{}\"", name));
      ++pos_;
      skip_blanks();
      if (peek() != '"') return error(fmt::format("expected '\"' to start the value of label \"{}\"", name));
      ++pos_;
      std::string value;
      bool closed = false;
      while (pos_ < line_.size()) {
        const char c = line_[pos_++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value += c;
          continue;
        }
        if (pos_ >= line_.size()) break;
        const char e = line_[pos_++];
        if (e == '\\' || e == '"') {
          value += e;
        } else if (e == 'n') {
          value += '\n';
        } else {
          return error(fmt::format("invalid escape {} in the value of label \"{}\": expected \\\\, \\\" or \\n",
                                   shown(std::string{'\\', e}), name));
        }
      }
      if (!closed) return error(fmt::format("unterminated value of label \"{}\"", name));
      if (!core::is_valid_utf8(value)) return error(fmt::format("value of label \"{}\" is not valid UTF-8", name));
      for (const auto& p : pairs) {
        if (p.name == name) return error(fmt::format("duplicate label \"{}\"", name));
      }
      pairs.push_back(core::Label{std::string(name), std::move(value)});
      skip_blanks();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      return error(fmt::format("expected ',' or '}}' after the value of label \"{}\"", name));
    }
    return pairs;
  }

  core::Result<double> parse_value(std::string_view token) const {
    // Go's strconv.ParseFloat (what Prometheus uses) takes a leading '+'; from_chars does not.
    std::string_view digits = token;
    if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-' && digits[1] != '+') digits.remove_prefix(1);
    double v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return error(fmt::format("value {} is out of range for a 64-bit float", shown(token)));
    }
    if (ec != std::errc() || ptr != digits.data() + digits.size()) {
      return error(fmt::format("bad value {}: expected a number, NaN, +Inf or -Inf", shown(token)));
    }
    return v;
  }

  template <class Pred>
  std::string_view take_while(size_t start, Pred pred) {
    size_t end = start;
    while (end < line_.size() && pred(line_[end])) ++end;
    pos_ = end;
    return line_.substr(start, end - start);
  }
  std::string_view token() { return take_while(pos_, [](char c) { return !is_blank(c); }); }
  std::string_view rest_token() const {
    const size_t end = std::min(line_.find_first_of(" \t", pos_), line_.size());
    return line_.substr(pos_, end - pos_);
  }
  void skip_blanks() {
    while (pos_ < line_.size() && is_blank(line_[pos_])) ++pos_;
  }
  char peek() const { return pos_ < line_.size() ? line_[pos_] : '\0'; }
  std::unexpected<Error> error(std::string message) const {
    return std::unexpected(Error::invalid_argument(fmt::format("line {}: {}", line_no_, message)));
  }

  std::string_view line_;
  int line_no_;
  size_t pos_ = 0;
};

}  // namespace

core::Result<std::vector<core::Sample>> parse_exposition(std::string_view text, core::Timestamp now) {
  std::vector<core::Sample> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    line.remove_prefix(first);
    LineParser parser(line, line_no);
    if (line.front() == '#') {
      TOCSIN_RETURN_IF_ERROR(parser.comment());
      continue;
    }
    out.push_back(TOCSIN_TRY(parser.sample(now)));
  }
  return out;
}

}  // namespace tocsin::ingest
