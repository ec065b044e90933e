// Lenient CSV line splitting for the line-oriented readers (`tocsin detect`, `tocsin bayes learn`):
// fields separated by commas, a field in double quotes may hold commas ("" is a quote), spaces,
// tabs and a trailing CR around fields are trimmed. (risk/table.h has the strict reader that
// reports an unterminated quote.)
// And the writer: RFC 4180 fields and records, which every CSV export uses.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tocsin::core {

std::string_view trim_blanks(std::string_view s);  // spaces, tabs; and a trailing CR
std::vector<std::string> split_csv(std::string_view line);

// One RFC 4180 field: as is, or in double quotes (inner quotes doubled) when it holds a comma, a
// quote, CR or LF.
std::string csv_field(std::string_view text);
// One record: the fields joined by commas, ended by CRLF (RFC 4180 §2).
std::string csv_record(const std::vector<std::string>& fields);

}  // namespace tocsin::core
