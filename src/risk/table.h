// A table read from a CSV file: the input of the risk models (historical incident records,
// indicator snapshots). The first line is a header of unique column names; each column is either
// numeric (every value parses as a number) or categorical (any text). A column's kind is given by
// the caller or, when not given, decided by its first non-missing value; a later value that does
// not fit a numeric column is an error naming file:line and the column. Missing values are empty
// fields and the tokens NA, NaN, nan, null and ? (a NaN number / an empty category here).
// Quoted fields ("a, b" with "" for a quote) are read; a field cannot span lines.
// Thread-safety: value types and functions without shared state.
#pragma once

#include <cmath>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tocsin::risk {

enum class ColumnKind { kNumeric, kCategorical };
std::string_view to_string(ColumnKind kind);

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<double> numbers;      // kNumeric: one per row, NaN when missing
  std::vector<std::string> texts;   // kCategorical: one per row, "" when missing

  bool missing(size_t row) const { return kind == ColumnKind::kNumeric ? std::isnan(numbers[row]) : texts[row].empty(); }
  // The value as text, for reports and duplicate detection ("" when missing).
  std::string text(size_t row) const;
};

struct Table {
  std::string source;            // file name for messages
  std::vector<Column> columns;
  std::vector<int> lines;        // the file line of each row (1-based; the header is line 1)

  size_t rows() const { return lines.size(); }
  // Index of the column called `name`, if any.
  std::optional<size_t> find(std::string_view name) const;
  // Index of the column, or an invalid_argument error "FILE:1: no column 'name' (columns: …)".
  core::Result<size_t> require(std::string_view name) const;
  // A new table with only `keep` rows, in that order.
  Table select_rows(const std::vector<size_t>& keep) const;
};

struct ReadOptions {
  std::string source = "<input>";
  std::map<std::string, ColumnKind, std::less<>> kinds;  // forced kinds; the rest are inferred
};

core::Result<Table> read_csv(std::istream& in, const ReadOptions& options);
core::Result<Table> read_csv_file(const std::string& path, ReadOptions options = {});

// True for the missing-value tokens above.
bool is_missing_token(std::string_view field);
// A whole-field number (strtod syntax, surrounding spaces allowed), or nothing.
std::optional<double> parse_number(std::string_view field);
// Splits one CSV line into fields; an unterminated quote is an error.
core::Result<std::vector<std::string>> split_csv_line(std::string_view line);
// A field quoted for CSV output when it needs to be.
std::string csv_field(std::string_view text);

}  // namespace tocsin::risk
