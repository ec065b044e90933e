#include "tsdb/expr.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>

#include "core/duration.h"
#include "core/labels.h"

namespace tocsin::tsdb {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool is_name_char(char c, bool colon) { return is_name_start(c, colon) || (c >= '0' && c <= '9'); }

std::string_view op_text(core::MatchOp op) {
  switch (op) {
    case core::MatchOp::kEqual:
      return "=";
    case core::MatchOp::kNotEqual:
      return "!=";
    case core::MatchOp::kRegex:
      return "=~";
    case core::MatchOp::kNotRegex:
      return "!~";
  }
  return "=";
}

// A recursive-descent parser over the expression text; every error carries the offset of the
// token that could not be read.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  core::Result<SelectExpr> parse() {
    SelectExpr out;
    skip_space();
    const size_t start = pos_;
    const std::string_view ident = name(true);
    skip_space();
    if (!ident.empty() && peek() == '(') {
      auto fn = function_from_name(ident);
      if (!fn) return fail(start, fmt::format("unknown function \"{}\"", ident));
      out.function = *fn;
      ++pos_;
      skip_space();
      if (out.function == Function::kQuantileOverTime) {
        auto phi = number();
        if (!phi) return std::unexpected(phi.error());
        out.phi = *phi;
        skip_space();
        if (!eat(',')) return fail(pos_, "expected \",\" after the quantile");
        skip_space();
      }
      auto matchers = selector({});
      if (!matchers) return std::unexpected(matchers.error());
      out.matchers = std::move(*matchers);
      skip_space();
      if (peek() != '[')
        return fail(pos_, fmt::format("expected a range such as [5m]: {} takes a range vector", ident));
      auto range = range_duration();
      if (!range) return std::unexpected(range.error());
      out.range = *range;
      skip_space();
      if (!eat(')')) return fail(pos_, "expected \")\"");
    } else {
      auto matchers = selector(ident.empty() ? std::optional<size_t>{} : std::optional<size_t>{start});
      if (!matchers) return std::unexpected(matchers.error());
      out.matchers = std::move(*matchers);
      skip_space();
      if (peek() == '[') {
        return fail(pos_,
                    "a range vector needs a function around it, e.g. rate(x[5m]); a rule selects an instant vector");
      }
    }
    skip_space();
    if (pos_ < text_.size()) return fail(pos_, "unexpected text (offset, @ and operators are not supported)");
    return out;
  }

 private:
  std::unexpected<core::Error> fail(size_t at, std::string_view why) const {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("bad select expression at offset {}: {} in \"{}\"", at, why, text_))
            .at(core::Position{"", 0, static_cast<int>(at) + 1}));
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  std::string_view name(bool colon) {
    const size_t start = pos_;
    if (pos_ < text_.size() && is_name_start(text_[pos_], colon)) {
      ++pos_;
      while (pos_ < text_.size() && is_name_char(text_[pos_], colon)) ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  core::Result<double> number() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' || text_[pos_] == 'e' ||
            text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-')) {
      ++pos_;
    }
    double v = 0;
    const auto* first = text_.data() + start;
    const auto* last = text_.data() + pos_;
    auto [end, ec] = std::from_chars(first, last, v);
    if (start == pos_ || ec != std::errc() || end != last) return fail(start, "expected a number for the quantile");
    // Prometheus answers ±Inf outside [0, 1]; for a rule that is certainly a mistake.
    if (!(v >= 0 && v <= 1)) return fail(start, fmt::format("quantile {} is outside [0, 1]", v));
    return v;
  }

  // A quoted string: "…" or '…' with backslash escapes, or `…` raw, as PromQL. As in
  // core::parse_selector, an unknown escape such as \. is kept as written (handy in regexes).
  core::Result<std::string> quoted() {
    const size_t start = pos_;
    const char quote = peek();
    if (quote != '"' && quote != '\'' && quote != '`') return fail(pos_, "expected a quoted label value");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const char c = text_[pos_++];
      if (c == '\\' && quote != '`' && pos_ < text_.size()) {
        const char e = text_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
          case '"':
          case '\'':
            out += e;
            break;
          default:
            out += '\\';
            out += e;
            break;
        }
      } else {
        out += c;
      }
    }
    if (pos_ >= text_.size()) return fail(start, "unterminated string");
    ++pos_;
    return out;
  }

  std::optional<core::MatchOp> op() {
    const auto rest = text_.substr(pos_);
    if (rest.starts_with("=~")) {
      pos_ += 2;
      return core::MatchOp::kRegex;
    }
    if (rest.starts_with("!~")) {
      pos_ += 2;
      return core::MatchOp::kNotRegex;
    }
    if (rest.starts_with("!=")) {
      pos_ += 2;
      return core::MatchOp::kNotEqual;
    }
    if (rest.starts_with("=")) {
      pos_ += 1;
      return core::MatchOp::kEqual;
    }
    return std::nullopt;
  }

  // metric_name? ("{" matchers "}")?; `metric_at` is where an already-read metric name starts.
  core::Result<std::vector<core::Matcher>> selector(std::optional<size_t> metric_at) {
    const size_t start = metric_at.value_or(pos_);
    std::vector<core::Matcher> out;
    std::string_view metric;
    if (metric_at) {
      metric = text_.substr(*metric_at, name_end(*metric_at) - *metric_at);
    } else {
      metric = name(true);
    }
    if (!metric.empty()) {
      auto m = core::Matcher::create("__name__", core::MatchOp::kEqual, std::string(metric));
      if (!m) return fail(start, m.error().message());
      out.push_back(std::move(*m));
    }
    skip_space();
    if (peek() == '{') {
      ++pos_;
      skip_space();
      while (!eat('}')) {
        const size_t at = pos_;
        const std::string_view label = name(false);
        if (label.empty()) return fail(at, pos_ >= text_.size() ? "expected \"}\"" : "expected a label name");
        skip_space();
        const size_t op_at = pos_;
        auto match_op = op();
        if (!match_op) return fail(op_at, "expected one of =, !=, =~, !~");
        skip_space();
        auto value = quoted();
        if (!value) return std::unexpected(value.error());
        if (label == "__name__" && !metric.empty()) return fail(at, "the metric name is set twice");
        auto m = core::Matcher::create(std::string(label), *match_op, std::move(*value));
        if (!m) return fail(at, m.error().message());
        out.push_back(std::move(*m));
        skip_space();
        if (eat(',')) {
          skip_space();
          continue;
        }
        if (peek() != '}') return fail(pos_, "expected \",\" or \"}\"");
      }
    } else if (metric.empty()) {
      return fail(pos_, "expected a metric name or {");
    }
    if (out.empty()) return fail(start, "an empty selector {} matches every series");
    // As PromQL: a selector must have a matcher that the empty label set does not satisfy.
    bool anchored = false;
    for (const auto& m : out) anchored |= !m.matches("");
    if (!anchored) return fail(start, "at least one matcher must not match the empty string");
    return out;
  }

  size_t name_end(size_t from) const {
    size_t p = from;
    while (p < text_.size() && is_name_char(text_[p], true)) ++p;
    return p;
  }

  core::Result<core::Duration> range_duration() {
    ++pos_;  // '['
    skip_space();
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ']' && !is_space(text_[pos_])) ++pos_;
    const std::string_view d = text_.substr(start, pos_ - start);
    skip_space();
    if (!eat(']')) return fail(pos_, "expected \"]\"");
    auto parsed = core::parse_duration(d);
    if (!parsed) return fail(start, fmt::format("bad range \"{}\": {}", d, parsed.error().message()));
    if (parsed->count() <= 0) return fail(start, "the range must be positive");
    return *parsed;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

core::Result<SelectExpr> parse_select_expr(std::string_view text) { return Parser(text).parse(); }

std::string SelectExpr::to_string() const {
  std::string metric;
  std::string inner;
  for (const auto& m : matchers) {
    // Only a valid metric name can stand before the braces; any other __name__ value stays a
    // matcher (found by fuzz/selector_fuzz.cc: {__name__="x.*"} printed as x.*{}).
    if (m.name() == "__name__" && m.op() == core::MatchOp::kEqual && metric.empty() &&
        core::is_valid_metric_name(m.value())) {
      metric = m.value();
      continue;
    }
    if (!inner.empty()) inner += ", ";
    inner += fmt::format("{}{}\"{}\"", m.name(), op_text(m.op()), core::escape_label_value(m.value()));
  }
  std::string selector = inner.empty() ? metric : fmt::format("{}{{{}}}", metric, inner);
  if (function == Function::kNone) return selector;
  const std::string range_text = core::format_duration(range);
  if (function == Function::kQuantileOverTime) {
    return fmt::format("quantile_over_time({}, {}[{}])", phi, selector, range_text);
  }
  return fmt::format("{}({}[{}])", tsdb::to_string(function), selector, range_text);
}

std::optional<double> evaluate(const SeriesStore& store, SeriesRef ref, const SelectExpr& expr, core::Timestamp t,
                               std::vector<Point>& scratch, core::Duration lookback) {
  if (expr.function == Function::kNone) {
    // The common case, evaluating at the newest sample, needs no decoding.
    std::optional<Point> newest = store.latest(ref);
    if (!newest) return std::nullopt;
    if (newest->ts > t) {
      if (!store.samples(ref, t - lookback, t, scratch) || scratch.empty()) return std::nullopt;
      newest = scratch.back();
    }
    // A staleness marker means the series is gone: no value, not the sample before it.
    if (newest->ts < t - lookback || is_stale_marker(newest->value)) return std::nullopt;
    return newest->value;
  }
  if (!store.samples(ref, t - expr.range, t, scratch)) return std::nullopt;
  std::erase_if(scratch, [](const Point& p) { return is_stale_marker(p.value); });
  return apply(expr.function, expr.phi, scratch, t, expr.range);
}

}  // namespace tocsin::tsdb
