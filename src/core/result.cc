#include "core/result.h"

#include <fmt/format.h>

namespace tocsin::core {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out;
  if (!position_.file.empty()) {
    out += position_.file;
    if (position_.line > 0) out += fmt::format(":{}", position_.line);
    out += ": ";
  } else if (position_.line > 0) {
    out += fmt::format("line {}: ", position_.line);
  }
  if (!field_.empty()) out += field_ + ": ";
  out += message_;
  return out;
}

}  // namespace tocsin::core
