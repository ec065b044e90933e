// Fuzz target: drill scenario files (drill::parse_scenario). Parsing must not crash or throw; an
// error names the file (and line) and what was expected.
#include "drill/scenario.h"
#include "fuzz_check.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto scenario = tocsin::drill::parse_scenario(tocsin::fuzz::as_text(data, size), "scenario.yaml");
  if (!scenario) {
    check(!scenario.error().message().empty());
    check(scenario.error().to_string().starts_with("scenario.yaml"));
  }
  return 0;
}
