#include "risk/table.h"

#include <fmt/format.h>

#include <cerrno>
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
  std::string s(field);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  if (std::isnan(v)) return std::nullopt;
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
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
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
  std::vector<bool> decided(header->size(), false);
  for (size_t i = 0; i < header->size(); ++i) {
    const std::string& name = (*header)[i];
    if (name.empty()) return error(line_no, fmt::format("column {} has an empty name", i + 1));
    for (size_t j = 0; j < i; ++j)
      if ((*header)[j] == name) return error(line_no, fmt::format("column '{}' appears twice", name));
    Column c{name, ColumnKind::kNumeric, {}, {}};
    if (auto it = options.kinds.find(name); it != options.kinds.end()) {
      c.kind = it->second;
      decided[i] = true;
    }
    t.columns.push_back(std::move(c));
  }
  // Values are kept as text until each column's kind is known.
  std::vector<std::vector<std::string>> raw(t.columns.size());
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    auto fields = split_csv_line(line);
    if (!fields) return error(line_no, fields.error().message());
    if (fields->size() != t.columns.size())
      return error(line_no, fmt::format("{} fields, but the header has {} columns", fields->size(), t.columns.size()));
    for (size_t i = 0; i < fields->size(); ++i) raw[i].push_back(std::move((*fields)[i]));
    t.lines.push_back(line_no);
  }
  for (size_t i = 0; i < t.columns.size(); ++i) {
    Column& c = t.columns[i];
    if (!decided[i]) {
      c.kind = ColumnKind::kCategorical;
      for (const auto& f : raw[i]) {
        if (is_missing_token(f)) continue;
        c.kind = parse_number(f) ? ColumnKind::kNumeric : ColumnKind::kCategorical;
        break;
      }
    }
    if (c.kind == ColumnKind::kNumeric) {
      c.numbers.reserve(raw[i].size());
      for (size_t r = 0; r < raw[i].size(); ++r) {
        const auto& f = raw[i][r];
        if (is_missing_token(f)) { c.numbers.push_back(std::nan("")); continue; }
        auto v = parse_number(f);
        if (!v) return error(t.lines[r], fmt::format("column '{}': '{}' is not a number (the column is numeric)", c.name, f));
        c.numbers.push_back(*v);
      }
    } else {
      c.texts.reserve(raw[i].size());
      for (auto& f : raw[i]) c.texts.push_back(is_missing_token(f) ? std::string() : std::move(f));
    }
  }
  return t;
}

core::Result<Table> read_csv_file(const std::string& path, ReadOptions options) {
  std::ifstream in(path);
  if (!in) return std::unexpected(core::Error::not_found(fmt::format("cannot open {}", path)));
  options.source = path;
  return read_csv(in, options);
}

}  // namespace tocsin::risk
