// Lenient CSV line splitting for the line-oriented readers (`tocsin detect`, `tocsin bayes learn`):
// fields separated by commas, a field in double quotes may hold commas ("" is a quote), spaces,
// tabs and a trailing CR around fields are trimmed. (risk/table.h has the strict reader that
// reports an unterminated quote.)
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tocsin::core {

std::string_view trim_blanks(std::string_view s);  // spaces, tabs; and a trailing CR
std::vector<std::string> split_csv(std::string_view line);

}  // namespace tocsin::core
