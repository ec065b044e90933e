// Fuzz target: the Prometheus text exposition parser. Whatever the input, parsing must not
// crash; what it accepts must round-trip: written back as text (escaped label values, the
// shortest exact value, the timestamp) and parsed again, it gives the same samples.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/labels.h"
#include "ingest/exposition.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

const tocsin::core::Timestamp kNow = tocsin::core::from_unix_ms(1'700'000'000'000);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto samples = tocsin::ingest::parse_exposition(input, kNow);
  if (!samples) {
    check(samples.error().message().starts_with("line "));
    return 0;
  }
  std::string text;
  for (const auto& s : *samples) {
    auto name = s.labels.get("__name__");
    check(name.has_value() && tocsin::core::is_valid_metric_name(*name));
    text += std::string(*name) + "{";
    for (const auto& l : s.labels) {
      check(tocsin::core::is_valid_label_name(l.name) && !l.value.empty());
      if (l.name != "__name__") text += fmt::format("{}=\"{}\",", l.name, tocsin::core::escape_label_value(l.value));
    }
    text += fmt::format("}} {} {}\n", s.value, tocsin::core::to_unix_ms(s.ts));
  }
  auto again = tocsin::ingest::parse_exposition(text, kNow);
  check(again.has_value() && again->size() == samples->size());
  for (size_t i = 0; i < samples->size(); ++i) {
    const auto& a = (*samples)[i];
    const auto& b = (*again)[i];
    check(a.labels == b.labels && a.ts == b.ts);
    check(std::isnan(a.value) ? std::isnan(b.value) : a.value == b.value);
  }
  return 0;
}
