#include "core/matcher.h"

#include <fmt/format.h>

#include <cctype>
#include <string_view>

namespace tocsin::core {
namespace {

std::string_view op_text(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual: return "=";
    case MatchOp::kNotEqual: return "!=";
    case MatchOp::kRegex: return "=~";
    case MatchOp::kNotRegex: return "!~";
  }
  return "=";
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A small cursor over selector / matcher text.
struct Cursor {
  std::string_view text;
  size_t pos = 0;

  void skip_space() {
    while (pos < text.size() && is_space(text[pos])) ++pos;
  }
  bool done() const { return pos >= text.size(); }
  char peek() const { return done() ? '\0' : text[pos]; }
  bool eat(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos;
    return true;
  }
  std::string_view name(bool allow_colon) {
    skip_space();
    const size_t start = pos;
    while (!done()) {
      const char c = text[pos];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                      (pos > start && c >= '0' && c <= '9') || (allow_colon && c == ':');
      if (!ok) break;
      ++pos;
    }
    return text.substr(start, pos - start);
  }
  Result<MatchOp> op() {
    skip_space();
    auto rest = text.substr(pos);
    if (rest.starts_with("=~")) { pos += 2; return MatchOp::kRegex; }
    if (rest.starts_with("!~")) { pos += 2; return MatchOp::kNotRegex; }
    if (rest.starts_with("!=")) { pos += 2; return MatchOp::kNotEqual; }
    if (rest.starts_with("=")) { pos += 1; return MatchOp::kEqual; }
    return std::unexpected(Error::invalid_argument(
        fmt::format("expected one of =, !=, =~, !~ at offset {} in \"{}\"", pos, text)));
  }
  // A double- or single-quoted string with backslash escapes.
  Result<std::string> quoted() {
    skip_space();
    const char quote = peek();
    if (quote != '"' && quote != '\'') {
      return std::unexpected(Error::invalid_argument(
          fmt::format("expected a quoted value at offset {} in \"{}\"", pos, text)));
    }
    ++pos;
    std::string out;
    while (!done() && text[pos] != quote) {
      char c = text[pos++];
      if (c == '\\' && !done()) {
        const char e = text[pos++];
        if (e == 'n') {
          out += '\n';
        } else if (e == 't') {
          out += '\t';
        } else if (e == '\\' || e == '"' || e == '\'') {
          out += e;
        } else {
          out += '\\';  // keep regex escapes such as \. intact
          out += e;
        }
      } else {
        out += c;
      }
    }
    if (done()) {
      return std::unexpected(Error::invalid_argument(fmt::format("unterminated string in \"{}\"", text)));
    }
    ++pos;
    return out;
  }
};


}  // namespace

Result<Matcher> Matcher::create(std::string name, MatchOp op, std::string value) {
  if (!is_valid_label_name(name)) {
    return std::unexpected(Error::invalid_argument(fmt::format("bad label name \"{}\"", name)));
  }
  Matcher m;
  m.name_ = std::move(name);
  m.op_ = op;
  m.value_ = std::move(value);
  if (op == MatchOp::kRegex || op == MatchOp::kNotRegex) m.regex_ = TOCSIN_TRY(Regex::compile(m.value_));
  return m;
}

Result<Matcher> Matcher::parse(std::string_view text) {
  Cursor c{text};
  const std::string name(c.name(false));
  if (name.empty()) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("bad matcher \"{}\": expected name=\"value\" (or !=, =~, !~)", text)));
  }
  auto op = c.op();
  if (!op) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("bad matcher \"{}\": expected name=\"value\" (or !=, =~, !~)", text)));
  }
  c.skip_space();
  std::string value;
  if (c.peek() == '"' || c.peek() == '\'') {
    auto q = c.quoted();
    if (!q) return std::unexpected(Error::invalid_argument(fmt::format("bad matcher \"{}\": {}", text, q.error().message())));
    value = std::move(*q);
  } else {
    // Unquoted value: the rest of the text, trimmed.
    auto rest = text.substr(c.pos);
    while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
    value = std::string(rest);
    c.pos = text.size();
  }
  c.skip_space();
  if (!c.done()) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("bad matcher \"{}\": unexpected text after the value", text)));
  }
  auto m = create(name, *op, std::move(value));
  if (!m) return std::unexpected(Error::invalid_argument(fmt::format("bad matcher \"{}\": {}", text, m.error().message())));
  return m;
}

bool Matcher::matches(std::string_view value) const {
  switch (op_) {
    case MatchOp::kEqual: return value == value_;
    case MatchOp::kNotEqual: return value != value_;
    case MatchOp::kRegex: return regex_->full_match(value);
    case MatchOp::kNotRegex: return !regex_->full_match(value);
  }
  return false;
}

std::string Matcher::to_string() const {
  return fmt::format("{}{}\"{}\"", name_, op_text(op_), escape_label_value(value_));
}

bool matches_all(const std::vector<Matcher>& matchers, const Labels& labels) {
  for (const auto& m : matchers) {
    if (!m.matches(labels)) return false;
  }
  return true;
}

Result<std::vector<Matcher>> parse_selector(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("bad selector \"{}\": {}; expected like metric{{label=\"value\"}}", text, why)));
  };
  Cursor c{text};
  std::vector<Matcher> out;
  const std::string metric(c.name(true));
  if (!metric.empty()) {
    auto m = Matcher::create("__name__", MatchOp::kEqual, metric);
    if (!m) return bad(m.error().message());
    out.push_back(std::move(*m));
  }
  if (c.eat('{')) {
    c.skip_space();
    while (!c.eat('}')) {
      const std::string name(c.name(false));
      if (name.empty()) return bad("expected a label name");
      auto op = c.op();
      if (!op) return bad(op.error().message());
      auto value = c.quoted();
      if (!value) return bad(value.error().message());
      auto m = Matcher::create(name, *op, std::move(*value));
      if (!m) return bad(m.error().message());
      out.push_back(std::move(*m));
      c.skip_space();
      if (c.eat(',')) continue;
      c.skip_space();
      if (c.peek() != '}') return bad("expected , or }");
    }
  }
  c.skip_space();
  if (!c.done()) return bad("unexpected text");
  if (out.empty()) return bad("empty");
  // PromQL rejects selectors that match the empty label set.
  bool any_non_empty = false;
  for (const auto& m : out) any_non_empty |= !m.matches("");
  if (!any_non_empty) return bad("at least one matcher must not match the empty string");
  return out;
}

}  // namespace tocsin::core
