// The functions templates call (notify/template.h): the Go builtins notification templates use
// and Alertmanager's additions. Internal to the template engine: the parser resolves names here
// (an unknown name is a parse error) and the executor calls them.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "notify/template.h"

namespace tocsin::notify::template_functions {

using Args = std::span<const TemplateValue>;

inline constexpr size_t kVariadic = static_cast<size_t>(-1);

struct Function {
  std::string_view name;
  size_t min_args;
  size_t max_args;  // kVariadic: no limit
  // nullptr for `and` and `or`, which the executor evaluates itself so it can stop early. Errors
  // are invalid_argument; the executor prefixes the call's position and the function's name.
  core::Result<TemplateValue> (*call)(Args);
};

// The function called `name`, or nullptr.
const Function* find(std::string_view name);

std::string_view kind_name(const TemplateValue& v);  // "null", "bool", "number", "string", "list", "map"
std::string quote(std::string_view s);               // a double-quoted string with Go's escapes

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

}  // namespace tocsin::notify::template_functions
