// Structured logging: one line per event, a message and key=value fields (logfmt), on stderr.
//   log::info("alert fired", {{"rule", rule.name}, {"fingerprint", fp}});
// Thread-safety: safe from any thread (spdlog's multi-threaded sink underneath).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace tocsin::core::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

struct Field {
  std::string_view key;
  std::string value;
};
using Fields = std::initializer_list<Field>;

void set_level(Level level);
Result<Level> parse_level(std::string_view text);

void debug(std::string_view msg, Fields fields = {});
void info(std::string_view msg, Fields fields = {});
void warn(std::string_view msg, Fields fields = {});
void error(std::string_view msg, Fields fields = {});

// The logfmt rendering, exposed for tests: msg="..." k=v k="v w".
std::string format_fields(std::string_view msg, Fields fields);

}  // namespace tocsin::core::log
