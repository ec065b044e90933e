#include "risk/table.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <istream>

namespace tocsin::risk {

std::string_view to_string(ColumnKind kind) { return kind == ColumnKind::kNumeric ? "numeric" : "categorical"; }

std::string Column::text(size_t row) const {
  if (kind == ColumnKind::kCategorical) return texts[row];
  if (std::isnan(numbers[row])) return "";
  return fmt::format("{}", numbers[row]);
}

std::optional<size_t> Table::find(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return i;
  return std::nullopt;
}

core::Result<size_t> Table::require(std::string_view name) const {
  if (auto i = find(name)) return *i;
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c.name;
  return std::unexpected(core::Error::invalid_argument(fmt::format("no column '{}' (columns: {})", name, names))
                             .at({source, 1, 0}));
}

Table Table::select_rows(const std::vector<size_t>& keep) const {
  Table out;
  out.source = source;
  out.lines.reserve(keep.size());
  for (size_t r : keep) out.lines.push_back(lines[r]);
  for (const auto& c : columns) {
    Column nc{c.name, c.kind, {}, {}};
    if (c.kind == ColumnKind::kNumeric) {
      nc.numbers.reserve(keep.size());
      for (size_t r : keep) nc.numbers.push_back(c.numbers[r]);
    } else {
      nc.texts.reserve(keep.size());
      for (size_t r : keep) nc.texts.push_back(c.texts[r]);
    }
    out.columns.push_back(std::move(nc));
  }
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_missing_token(std::string_view field) {
  field = trim(field);
  return field.empty() || field == "NA" || field == "NaN" || field == "nan" || field == "null" || field == "?";
}

std::optional<double> parse_number(std::string_view field) {
  field = trim(field);
  if (field.empty()) return std::nullopt;
  if (field.front() == '+') field.remove_prefix(1);  // from_chars takes no leading '+'
  double v = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec == std::errc::result_out_of_range) {  // overflow → ±inf, underflow → 0, as strtod does
    std::string s(field);
    v = std::strtod(s.c_str(), nullptr);
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  if (end != field.data() + field.size() || std::isnan(v)) return std::nullopt;
  return v;
}

core::Result<std::vector<std::string>> split_csv_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string> fields;
  std::string cur;
  size_t i = 0;
  for (;;) {
    cur.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return std::unexpected(core::Error::invalid_argument("unterminated quoted field"));
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; i += 2; continue; }
          ++i;
          break;
        }
        cur += line[i++];
      }
      while (i < line.size() && line[i] != ',') ++i;  // anything after the closing quote is dropped
    } else {
      size_t comma = line.find(',', i);
      if (comma == std::string_view::npos) comma = line.size();
      cur.assign(trim(line.substr(i, comma - i)));
      i = comma;
    }
    fields.push_back(cur);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::string csv_field(std::string_view text) {
  // Blanks around an unquoted field are trimmed when it is read, so a field that starts or ends
  // with one is quoted too (found by fuzz/csv_fuzz.cc: " a" read back as "a").
  const bool blank_edge =
      !text.empty() && (text.front() == ' ' || text.front() == '\t' || text.back() == ' ' || text.back() == '\t');
  if (!blank_edge && text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

core::Result<Table> read_csv(std::istream& in, const ReadOptions& options) {
  Table t;
  t.source = options.source;
  auto error = [&](int line, std::string message) {
    return std::unexpected(core::Error::invalid_argument(std::move(message)).at({t.source, line, 0}));
  };
  std::string line;
  int line_no = 0;
  // Header: the first non-empty line.
  while (std::getline(in, line)) {
    ++line_no;
    if (!trim(line).empty()) break;
  }
  if (trim(line).empty()) return error(line_no, "empty file: expected a header line");
  auto header = split_csv_line(line);
  if (!header) return error(line_no, header.error().message());
  // A column's kind is decided by its first non-missing value (or forced); values before that
  // are all missing, so one pass suffices.
  enum class Decided { kNo, kYes };
  std::vector<Decided> decided(header->size(), Decided::kNo);
  for (size_t i = 0; i < header->size(); ++i) {
    const std::string& name = (*header)[i];
    if (name.empty()) return error(line_no, fmt::format("column {} has an empty name", i + 1));
    for (size_t j = 0; j < i; ++j)
      if ((*header)[j] == name) return error(line_no, fmt::format("column '{}' appears twice", name));
    Column c{name, ColumnKind::kNumeric, {}, {}};
    if (auto it = options.kinds.find(name); it != options.kinds.end()) {
      c.kind = it->second;
      decided[i] = Decided::kYes;
    }
    t.columns.push_back(std::move(c));
  }
  const size_t width = t.columns.size();
  std::vector<std::string_view> fields(width);
  std::vector<std::string> quoted;  // owns the fields of a line with quotes
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view rest = line;
    if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
    if (trim(rest).empty()) continue;
    size_t count = 0;
    if (rest.find('"') != std::string_view::npos) {
      auto split = split_csv_line(rest);
      if (!split) return error(line_no, split.error().message());
      quoted = std::move(*split);
      count = quoted.size();
      for (size_t i = 0; i < std::min(count, width); ++i) fields[i] = quoted[i];
    } else {
      for (;;) {
        size_t comma = rest.find(',');
        if (count < width) fields[count] = rest.substr(0, comma);
        ++count;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    if (count != width) return error(line_no, fmt::format("{} fields, but the header has {} columns", count, width));
    for (size_t i = 0; i < width; ++i) {
      Column& c = t.columns[i];
      std::string_view f = trim(fields[i]);
      bool missing = is_missing_token(f);
      if (decided[i] == Decided::kNo) {
        if (missing) {
          if (c.kind == ColumnKind::kNumeric) c.numbers.push_back(std::nan(""));
          else c.texts.emplace_back();
          continue;
        }
        decided[i] = Decided::kYes;
        if (!parse_number(f)) {  // categorical after all: the missing values so far become ""
          c.kind = ColumnKind::kCategorical;
          c.texts.assign(c.numbers.size(), std::string());
          c.numbers.clear();
        }
      }
      if (c.kind == ColumnKind::kNumeric) {
        if (missing) { c.numbers.push_back(std::nan("")); continue; }
        auto v = parse_number(f);
        if (!v) return error(line_no, fmt::format("column '{}': '{}' is not a number (the column is numeric)", c.name, f));
        c.numbers.push_back(*v);
      } else {
        c.texts.emplace_back(missing ? std::string_view() : f);
      }
    }
    t.lines.push_back(line_no);
  }
  if (in.bad()) return error(line_no, "read error");
  // Columns with no value at all stay numeric (all NaN) unless forced.
  return t;
}

core::Result<Table> read_csv_file(const std::string& path, ReadOptions options) {
  std::ifstream in(path);
  if (!in) return std::unexpected(core::Error::not_found(fmt::format("cannot open {}", path)));
  options.source = path;
  return read_csv(in, options);
}

}  // namespace tocsin::risk
