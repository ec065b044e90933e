// Reads a detector's parameters for its factory: numbers, integers, durations, words from a
// fixed list and booleans, each error at the parameter's position; reject_unknown() then names
// any parameter the detector does not know, listing the ones it does.
// Thread-safety: a ParamReader is used by one thread while a factory runs; it borrows the config.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "core/time.h"

namespace tocsin::detect {

class ParamReader {
 public:
  explicit ParamReader(const config::DetectorConfig& config) : config_(config) {}

  // Each getter returns std::nullopt when the parameter is absent and an error when it is present
  // but malformed.
  core::Result<std::optional<double>> number(std::string_view name);
  // A number in [lo, hi].
  core::Result<std::optional<double>> number_in(std::string_view name, double lo, double hi);
  // A whole number in [lo, hi].
  core::Result<std::optional<int64_t>> integer(std::string_view name, int64_t lo, int64_t hi);
  // A Prometheus duration ("30s", "5m", "1h"; "0" is zero).
  core::Result<std::optional<core::Duration>> duration(std::string_view name);
  // One of `words`.
  core::Result<std::optional<std::string>> word(std::string_view name, std::initializer_list<std::string_view> words);
  // true or false.
  core::Result<std::optional<bool>> boolean(std::string_view name);

  // After every known parameter was read: an error naming the first one that was not, listing
  // the ones that were (so the message says what is allowed).
  core::Status reject_unknown() const;
  core::Error error_at(std::string_view name, std::string message) const;
  // An error at the detector itself (e.g. a required parameter is missing).
  core::Error error(std::string message) const;

 private:
  const config::DetectorParam* find(std::string_view name);

  const config::DetectorConfig& config_;
  std::vector<std::string> read_;
};

}  // namespace tocsin::detect
