// Fuzz target: selectors and matchers — rule `select:` expressions (tsdb::parse_select_expr),
// PromQL instant-vector selectors (core::parse_selector) and single label matchers
// (core::Matcher::parse, as in routes, inhibit rules and amtool filters). Nothing may crash or
// throw; and what parses prints in a canonical form that parses back to the same thing.
#include "core/matcher.h"
#include "fuzz_check.h"
#include "tsdb/expr.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tocsin::fuzz::as_text(data, size);
  if (auto expr = tocsin::tsdb::parse_select_expr(text)) {
    const std::string canonical = expr->to_string();
    auto again = tocsin::tsdb::parse_select_expr(canonical);
    check(again.has_value() && again->to_string() == canonical);
    check(again->function == expr->function && again->range == expr->range && again->phi == expr->phi);
  } else {
    check(!expr.error().message().empty());
  }
  (void)tocsin::core::parse_selector(text);
  if (auto m = tocsin::core::Matcher::parse(text)) {
    const std::string canonical = m->to_string();
    auto again = tocsin::core::Matcher::parse(canonical);
    check(again.has_value() && again->name() == m->name() && again->op() == m->op() && again->value() == m->value());
    check(again->matches("") == m->matches(""));
  }
  return 0;
}
