#include "notify/template_functions.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "core/regex.h"

namespace tocsin::notify::template_functions {

using core::Error;
using core::Result;
using core::Status;
using Kind = TemplateValue::Kind;

std::string_view kind_name(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "bool";
    case Kind::kNumber:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "list";
    case Kind::kMap:
      return "map";
  }
  return "?";
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

namespace {

Result<TemplateValue> fail(std::string message) { return std::unexpected(Error::invalid_argument(std::move(message))); }

// A scalar argument as text: strings as they are, numbers and bools printed, null as "".
Result<std::string> text_arg(const TemplateValue& v, std::string_view what) {
  if (v.kind() == Kind::kList || v.kind() == Kind::kMap) {
    return std::unexpected(Error::invalid_argument(fmt::format("{} must be a string, got a {}", what, kind_name(v))));
  }
  return v.to_string();
}

TemplateValue zero_of(Kind kind) {
  switch (kind) {
    case Kind::kBool:
      return false;
    case Kind::kNumber:
      return 0;
    case Kind::kString:
      return "";
    default:
      return {};
  }
}

// Three-way comparison as Go's eq/lt do it; null stands for the zero value of the other side's
// kind (a missing label is "").
Result<int> compare(const TemplateValue& a_in, const TemplateValue& b_in, bool ordered) {
  const TemplateValue a = a_in.is_null() ? zero_of(b_in.kind()) : a_in;
  const TemplateValue b = b_in.is_null() ? zero_of(a_in.kind()) : b_in;
  if (a.is_null() && b.is_null()) return 0;
  if (a.kind() != b.kind()) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("incompatible types for comparison: {} and {}", kind_name(a), kind_name(b))));
  }
  switch (a.kind()) {
    case Kind::kBool:
      if (ordered) return std::unexpected(Error::invalid_argument("invalid type for comparison: bool"));
      return a.as_bool() == b.as_bool() ? 0 : 1;
    case Kind::kNumber:
      return a.as_number() < b.as_number() ? -1 : a.as_number() > b.as_number() ? 1 : 0;
    case Kind::kString: {
      const int c = a.as_string().compare(b.as_string());
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    default:
      return std::unexpected(Error::invalid_argument(fmt::format("non-comparable type: {}", kind_name(a))));
  }
}

Result<TemplateValue> fn_eq(Args args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (TOCSIN_TRY(compare(args[0], args[i], false)) == 0) return true;
  }
  return false;
}
Result<TemplateValue> fn_ne(Args args) { return TOCSIN_TRY(compare(args[0], args[1], false)) != 0; }
Result<TemplateValue> fn_lt(Args args) { return TOCSIN_TRY(compare(args[0], args[1], true)) < 0; }
Result<TemplateValue> fn_le(Args args) { return TOCSIN_TRY(compare(args[0], args[1], true)) <= 0; }
Result<TemplateValue> fn_gt(Args args) { return TOCSIN_TRY(compare(args[0], args[1], true)) > 0; }
Result<TemplateValue> fn_ge(Args args) { return TOCSIN_TRY(compare(args[0], args[1], true)) >= 0; }
Result<TemplateValue> fn_not(Args args) { return !args[0].truthy(); }

Result<TemplateValue> fn_len(Args args) {
  const auto& v = args[0];
  switch (v.kind()) {
    case Kind::kNull:
      return 0;
    case Kind::kString:
      return v.as_string().size();
    case Kind::kList:
      return v.as_list().size();
    case Kind::kMap:
      return v.as_map().size();
    default:
      return fail(fmt::format("len of a {}", kind_name(v)));
  }
}

Result<TemplateValue> fn_index(Args args) {
  TemplateValue item = args[0];
  for (const auto& key : args.subspan(1)) {
    switch (item.kind()) {
      case Kind::kNull:
        return TemplateValue();
      case Kind::kList: {
        const auto& list = item.as_list();
        if (key.kind() != Kind::kNumber || key.as_number() != std::trunc(key.as_number())) {
          return fail(fmt::format("cannot index a list with a {}", kind_name(key)));
        }
        const double i = key.as_number();
        if (i < 0 || i >= static_cast<double>(list.size())) {
          return fail(fmt::format("index out of range: {}", TemplateValue(i).to_string()));
        }
        item = list[static_cast<size_t>(i)];
        break;
      }
      case Kind::kMap: {
        if (key.kind() != Kind::kString) return fail(fmt::format("cannot index a map with a {}", kind_name(key)));
        const TemplateValue* found = item.find(key.as_string());
        item = found ? *found : TemplateValue();
        break;
      }
      default:
        return fail(fmt::format("cannot index a {}", kind_name(item)));
    }
  }
  return item;
}

Result<TemplateValue> map_ascii(Args args, char (*map)(char)) {
  std::string s = TOCSIN_TRY(text_arg(args[0], "the argument"));
  std::transform(s.begin(), s.end(), s.begin(), map);
  return s;
}
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
Result<TemplateValue> fn_to_upper(Args args) { return map_ascii(args, ascii_upper); }
Result<TemplateValue> fn_to_lower(Args args) { return map_ascii(args, ascii_lower); }

// Go's strings.Title: the first letter of each word in upper case. Bytes of multi-byte UTF-8
// sequences count as letters.
Result<TemplateValue> fn_title(Args args) {
  std::string s = TOCSIN_TRY(text_arg(args[0], "the argument"));
  bool word_start = true;
  for (char& c : s) {
    const bool word_char = is_alnum(c) || static_cast<unsigned char>(c) >= 0x80;
    if (word_start && word_char) c = ascii_upper(c);
    word_start = !word_char;
  }
  return s;
}

Result<TemplateValue> fn_trim_space(Args args) {
  const std::string s = TOCSIN_TRY(text_arg(args[0], "the argument"));
  const size_t first = s.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n\v\f") - first + 1);
}

// Alertmanager's join takes the separator first, so the list can be piped in: `.X | join ", "`.
Result<TemplateValue> fn_join(Args args) {
  const std::string sep = TOCSIN_TRY(text_arg(args[0], "the separator"));
  if (args[1].is_null()) return "";
  if (args[1].kind() != Kind::kList) return fail(fmt::format("join needs a list, got a {}", kind_name(args[1])));
  std::string out;
  bool first = true;
  for (const auto& v : args[1].as_list()) {
    if (!first) out += sep;
    first = false;
    out += v.to_string();
  }
  return out;
}

Result<TemplateValue> fn_string_slice(Args args) { return TemplateValue::List(args.begin(), args.end()); }

Result<TemplateValue> fn_identity(Args args) { return args[0]; }

// fmt.Sprint: a space between operands when neither is a string.
Result<TemplateValue> fn_print(Args args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && args[i - 1].kind() != Kind::kString && args[i].kind() != Kind::kString) out += ' ';
    out += args[i].to_string();
  }
  return out;
}

// url.QueryEscape of the printed arguments.
Result<TemplateValue> fn_urlquery(Args args) { return url_query_escape(TOCSIN_TRY(fn_print(args)).as_string()); }

std::string go_type(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kNull:
      return "<nil>";
    case Kind::kNumber:
      return v.as_number() == std::trunc(v.as_number()) && std::isfinite(v.as_number()) ? "int" : "float64";
    case Kind::kList:
      return "[]interface {}";
    case Kind::kMap:
      return "map[string]interface {}";
    default:
      return std::string(kind_name(v));
  }
}

std::string bad_verb(char verb, const TemplateValue& v) {
  if (v.is_null()) return fmt::format("%!{}(<nil>)", verb);
  return fmt::format("%!{}({}={})", verb, go_type(v), v.to_string());
}

bool is_integral(const TemplateValue& v) {
  return v.kind() == Kind::kNumber && std::isfinite(v.as_number()) && v.as_number() == std::trunc(v.as_number()) &&
         std::fabs(v.as_number()) < 9.2e18;
}

// One printf verb applied to one value; std::nullopt precision = the verb's default.
std::string format_verb(char verb, const TemplateValue& v, std::optional<int> precision, bool plus) {
  switch (verb) {
    case 'v':
    case 's':
      return v.to_string();
    case 'q':
      return v.kind() == Kind::kString ? quote(v.as_string()) : bad_verb(verb, v);
    case 't':
      return v.kind() == Kind::kBool ? v.to_string() : bad_verb(verb, v);
    case 'd':
      if (!is_integral(v)) return bad_verb(verb, v);
      return plus ? fmt::format("{:+}", static_cast<int64_t>(v.as_number()))
                  : fmt::format("{}", static_cast<int64_t>(v.as_number()));
    case 'x':
      if (is_integral(v)) return fmt::format("{:x}", static_cast<int64_t>(v.as_number()));
      if (v.kind() == Kind::kString) {
        std::string out;
        for (unsigned char c : v.as_string()) out += fmt::format("{:02x}", c);
        return out;
      }
      return bad_verb(verb, v);
    case 'f':
    case 'F':
      if (v.kind() != Kind::kNumber) return bad_verb(verb, v);
      return plus ? fmt::format("{:+.{}f}", v.as_number(), precision.value_or(6))
                  : fmt::format("{:.{}f}", v.as_number(), precision.value_or(6));
    default:
      return bad_verb(verb, v);
  }
}

// printf with Go's verbs %v %s %q %d %x %f %t and %%, flags '-', '+', '0', a width and a precision.
// Missing and extra operands are marked the way Go marks them (%!d(MISSING), %!(EXTRA …)).
Result<TemplateValue> fn_printf(Args args) {
  if (args[0].kind() != Kind::kString)
    return fail(fmt::format("the format must be a string, got a {}", kind_name(args[0])));
  const std::string& format = args[0].as_string();
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i < format.size() && format[i] == '%') {
      out += '%';
      continue;
    }
    bool minus = false, plus = false, zero = false;
    for (; i < format.size() && (format[i] == '-' || format[i] == '+' || format[i] == '0' || format[i] == ' '); ++i) {
      minus |= format[i] == '-';
      plus |= format[i] == '+';
      zero |= format[i] == '0';
    }
    size_t width = 0;
    for (; i < format.size() && is_digit(format[i]); ++i) width = width * 10 + static_cast<size_t>(format[i] - '0');
    std::optional<int> precision;
    if (i < format.size() && format[i] == '.') {
      precision = 0;
      for (++i; i < format.size() && is_digit(format[i]); ++i) *precision = *precision * 10 + (format[i] - '0');
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = format[i];
    if (next >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    std::string s = format_verb(verb, args[next++], precision, plus);
    if (s.size() < width) {
      const size_t pad = width - s.size();
      if (minus) {
        s.append(pad, ' ');
      } else if (zero && (verb == 'd' || verb == 'f' || verb == 'F' || verb == 'x')) {
        const size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
        s.insert(sign, pad, '0');
      } else {
        s.insert(0, pad, ' ');
      }
    }
    out += s;
  }
  if (next < args.size()) {
    out += "%!(EXTRA ";
    for (size_t i = next; i < args.size(); ++i) {
      if (i > next) out += ", ";
      out += go_type(args[i]) + "=" + args[i].to_string();
    }
    out += ")";
  }
  return out;
}

// Alertmanager's reReplaceAll PATTERN REPLACEMENT TEXT.
Result<TemplateValue> fn_re_replace_all(Args args) {
  const std::string pattern = TOCSIN_TRY(text_arg(args[0], "the pattern"));
  const std::string replacement = TOCSIN_TRY(text_arg(args[1], "the replacement"));
  const std::string text = TOCSIN_TRY(text_arg(args[2], "the text"));
  return TOCSIN_TRY(core::Regex::compile(pattern)).replace_all(text, replacement);
}

// Alertmanager's match PATTERN TEXT (unanchored, as Go's regexp.MatchString).
Result<TemplateValue> fn_match(Args args) {
  const std::string pattern = TOCSIN_TRY(text_arg(args[0], "the pattern"));
  const std::string text = TOCSIN_TRY(text_arg(args[1], "the text"));
  return TOCSIN_TRY(core::Regex::compile(pattern)).search(text);
}

constexpr std::array kFunctions = {
    Function{"and", 1, kVariadic, nullptr},
    Function{"or", 1, kVariadic, nullptr},
    Function{"not", 1, 1, fn_not},
    Function{"eq", 2, kVariadic, fn_eq},
    Function{"ne", 2, 2, fn_ne},
    Function{"lt", 2, 2, fn_lt},
    Function{"le", 2, 2, fn_le},
    Function{"gt", 2, 2, fn_gt},
    Function{"ge", 2, 2, fn_ge},
    Function{"len", 1, 1, fn_len},
    Function{"index", 1, kVariadic, fn_index},
    Function{"print", 0, kVariadic, fn_print},
    Function{"printf", 1, kVariadic, fn_printf},
    Function{"urlquery", 0, kVariadic, fn_urlquery},
    Function{"toUpper", 1, 1, fn_to_upper},
    Function{"toLower", 1, 1, fn_to_lower},
    Function{"title", 1, 1, fn_title},
    Function{"trimSpace", 1, 1, fn_trim_space},
    Function{"join", 2, 2, fn_join},
    Function{"stringSlice", 0, kVariadic, fn_string_slice},
    Function{"safeHtml", 1, 1, fn_identity},
    Function{"reReplaceAll", 3, 3, fn_re_replace_all},
    Function{"match", 2, 2, fn_match},
};

}  // namespace

const Function* find(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace tocsin::notify::template_functions
