// Fuzz target: the CSV readers — core::split_csv (the lenient line splitter of `tocsin detect`
// and `tocsin bayes learn`), risk::split_csv_line and risk::read_csv (the strict table reader of
// the risk models). Nothing may crash or throw; a table read has as many values per column as
// rows; and a line of fields written with risk::csv_field splits back into the same fields.
#include <sstream>

#include "core/csv.h"
#include "fuzz_check.h"
#include "risk/table.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tocsin::fuzz::as_text(data, size);
  const std::string_view first_line = text.substr(0, text.find('\n'));
  (void)tocsin::core::split_csv(first_line);

  if (auto fields = tocsin::risk::split_csv_line(first_line)) {
    std::string line;
    for (size_t i = 0; i < fields->size(); ++i) line += (i ? "," : "") + tocsin::risk::csv_field((*fields)[i]);
    auto again = tocsin::risk::split_csv_line(line);
    check(again.has_value() && *again == *fields);
  }

  std::istringstream in{std::string(text)};
  if (auto table = tocsin::risk::read_csv(in, {})) {
    for (const auto& c : table->columns) {
      const size_t n = c.kind == tocsin::risk::ColumnKind::kNumeric ? c.numbers.size() : c.texts.size();
      check(n == table->rows());
    }
  } else {
    check(!table.error().message().empty());
  }
  return 0;
}
