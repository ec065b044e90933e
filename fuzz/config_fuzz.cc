// Fuzz target: tocsin.yaml (config::load_config_string: the YAML, every section, references
// between them, routes, time intervals, rule selects). Includes resolve against a directory that
// does not exist, so an input never reads files. Loading must not crash or throw; an error names
// the file and what was expected.
#include "config/loader.h"
#include "fuzz_check.h"

using tocsin::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config =
      tocsin::config::load_config_string(tocsin::fuzz::as_text(data, size), "tocsin.yaml", "/nonexistent/tocsin-fuzz");
  if (!config) {
    check(!config.error().message().empty());
    check(config.error().to_string().starts_with("tocsin.yaml"));
  }
  return 0;
}
