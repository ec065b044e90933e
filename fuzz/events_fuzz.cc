// Fuzz target: the events body (POST /api/v1/events), parsed and then counted. Parsing must not
// crash or throw; accepted events hold the documented ranges, and counting them gives two
// samples (window and total) per distinct event time and series, none of them negative.
#include <cmath>

#include "core/labels.h"
#include "fuzz_check.h"
#include "ingest/events.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto now = tocsin::core::from_unix_ms(1'796'400'000'000);
  auto events = tocsin::ingest::parse_events_json(tocsin::fuzz::as_text(data, size), now);
  if (!events) {
    check(!events.error().message().empty());
    return 0;
  }
  for (const auto& e : *events) {
    check(!e.kind.empty() && e.count >= 1 && e.count <= tocsin::ingest::kMaxEventCount);
    check(!e.labels.get("kind") && !e.labels.get("__name__"));
  }
  tocsin::ingest::EventCounters counters;
  auto samples =
      counters.record(*events, [](const std::vector<tocsin::core::Sample>&) { return tocsin::core::Status{}; });
  if (!samples) {  // more distinct series than EventCountersOptions::max_series
    check(!samples.error().message().empty());
    return 0;
  }
  check(samples->size() % 2 == 0 && samples->size() <= 2 * events->size());
  for (const auto& s : *samples) {
    check(s.value >= 0 && std::isfinite(s.value));
    check(s.labels.get("kind").has_value());
  }
  return 0;
}
