// Fuzz target: the JSON push body (POST /api/v1/push). Parsing must not crash or throw; an error
// names what was wrong; accepted samples carry a valid metric name and valid, non-empty labels.
#include "core/labels.h"
#include "fuzz_check.h"
#include "ingest/push.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto now = tocsin::core::from_unix_ms(1'796'400'000'000);
  auto samples = tocsin::ingest::parse_push_json(tocsin::fuzz::as_text(data, size), now);
  if (!samples) {
    check(!samples.error().message().empty());
    return 0;
  }
  for (const auto& s : *samples) {
    auto name = s.labels.get("__name__");
    check(name.has_value() && tocsin::core::is_valid_metric_name(*name));
    for (const auto& l : s.labels) check(tocsin::core::is_valid_label_name(l.name) && !l.value.empty());
  }
  return 0;
}
