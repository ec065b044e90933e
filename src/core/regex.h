// Regular expressions in RE2 syntax — Go's, which Prometheus and Alertmanager use, so a matcher
// or template that works there means the same here. RE2 matches in time linear in the text and
// uses no recursion, so no pattern a client sends (a silence, an API filter) can make matching
// backtrack for minutes or overflow the stack, which std::regex did (fuzz/selector_fuzz.cc).
// Thread-safety: immutable after compile(); copies share the compiled program; every method is
// const and safe to call from several threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace tocsin::core {

class Regex {
 public:
  // An invalid pattern is an invalid_argument error: `bad regex "PATTERN": REASON` (RE2's reason,
  // e.g. "bad repetition operator: **" — Go refuses the same patterns, in other words).
  static Result<Regex> compile(std::string_view pattern);

  // The whole text matches (Prometheus anchors label matchers: ^(?:re)$).
  bool full_match(std::string_view text) const;
  // Some part of the text matches (Go's MatchString).
  bool search(std::string_view text) const;
  // Every match replaced, as Go's ReplaceAllString: `replacement` may name groups as $1, ${1},
  // $name or ${name}; $$ is a '$'; a group that did not take part, or does not exist, is empty.
  std::string replace_all(std::string_view text, std::string_view replacement) const;

  const std::string& pattern() const;

 private:
  explicit Regex(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace tocsin::core
