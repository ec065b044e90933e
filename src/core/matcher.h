// Label matchers in Alertmanager / PromQL syntax: name="v", name!="v", name=~"re", name!~"re".
// Regexes are RE2 (Go) syntax, fully anchored, as in Prometheus. A matcher against a missing label sees "".
// Selectors are PromQL instant-vector selectors: `metric{a="b"}`, `{__name__=~"x.*"}`, `metric`.
// Thread-safety: immutable after parsing; matches() is const and safe to share.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/regex.h"
#include "core/result.h"

namespace tocsin::core {

enum class MatchOp { kEqual, kNotEqual, kRegex, kNotRegex };

class Matcher {
 public:
  static Result<Matcher> create(std::string name, MatchOp op, std::string value);
  // Parses `name="value"`; as in amtool, the value may also be unquoted (`severity=critical`).
  static Result<Matcher> parse(std::string_view text);

  bool matches(std::string_view value) const;
  bool matches(const Labels& labels) const { return matches(labels.get_or(name_, "")); }

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }
  std::string to_string() const;  // canonical form: name="value" with escapes

 private:
  std::string name_;
  MatchOp op_ = MatchOp::kEqual;
  std::string value_;
  std::optional<Regex> regex_;  // for kRegex / kNotRegex
};

bool matches_all(const std::vector<Matcher>& matchers, const Labels& labels);

// Parses a PromQL instant-vector selector into matchers (the metric name becomes __name__="…").
Result<std::vector<Matcher>> parse_selector(std::string_view text);

}  // namespace tocsin::core
