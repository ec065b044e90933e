// Fuzz target: Prometheus durations (core::parse_duration) and RFC 3339 times
// (core::parse_rfc3339). Nothing may crash (UBSan: no signed overflow); an accepted duration is
// not negative and round-trips through format_duration; an accepted time round-trips through
// format_rfc3339 at millisecond precision.
#include "core/duration.h"
#include "core/time.h"
#include "fuzz_check.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tocsin::fuzz::as_text(data, size);
  if (auto d = tocsin::core::parse_duration(text)) {
    check(d->count() >= 0);
    auto again = tocsin::core::parse_duration(tocsin::core::format_duration(*d));
    check(again.has_value() && *again == *d);
  } else {
    check(!d.error().message().empty());
  }
  if (auto t = tocsin::core::parse_rfc3339(text)) {
    auto again = tocsin::core::parse_rfc3339(tocsin::core::format_rfc3339(*t));
    check(again.has_value() && *again == *t);
    auto nano = tocsin::core::parse_rfc3339(tocsin::core::format_rfc3339_nano(*t));
    check(nano.has_value() && *nano == *t);
  }
  return 0;
}
