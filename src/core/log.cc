#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace tocsin::core::log {
namespace {

spdlog::logger& logger() {
  static auto instance = [] {
    auto l = spdlog::stderr_logger_mt("tocsin");
    l->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
    return l;
  }();
  return *instance;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

void emit(spdlog::level::level_enum level, std::string_view msg, Fields fields) {
  auto& l = logger();
  if (!l.should_log(level)) return;
  l.log(level, "{}", format_fields(msg, fields));
}

}  // namespace

std::string format_fields(std::string_view msg, Fields fields) {
  std::string out = "msg=";
  append_value(out, msg);
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    append_value(out, f.value);
  }
  return out;
}

void set_level(Level level) {
  switch (level) {
    case Level::kDebug: logger().set_level(spdlog::level::debug); break;
    case Level::kInfo: logger().set_level(spdlog::level::info); break;
    case Level::kWarn: logger().set_level(spdlog::level::warn); break;
    case Level::kError: logger().set_level(spdlog::level::err); break;
    case Level::kOff: logger().set_level(spdlog::level::off); break;
  }
}

Result<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn") return Level::kWarn;
  if (text == "error") return Level::kError;
  if (text == "off") return Level::kOff;
  return std::unexpected(Error::invalid_argument("bad log level: expected debug, info, warn, error or off"));
}

void debug(std::string_view msg, Fields fields) { emit(spdlog::level::debug, msg, fields); }
void info(std::string_view msg, Fields fields) { emit(spdlog::level::info, msg, fields); }
void warn(std::string_view msg, Fields fields) { emit(spdlog::level::warn, msg, fields); }
void error(std::string_view msg, Fields fields) { emit(spdlog::level::err, msg, fields); }

}  // namespace tocsin::core::log
