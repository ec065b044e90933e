// Errors as values. Every fallible function returns Result<T> = std::expected<T, Error>;
// no exception crosses a layer boundary. An Error carries a code, a message, where in a file the
// problem is (when there is a file), the field path, and whether retrying could help.
// Thread-safety: value types, no shared state.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace tocsin::core {

enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong; retrying the same input will not help
  kNotFound,            // the thing named does not exist
  kFailedPrecondition,  // the system is not in a state that allows this (e.g. resolve a closed incident)
  kUnavailable,         // a dependency is down; retrying later may help
  kInternal,            // a bug or an unexpected failure
};

std::string_view to_string(ErrorCode code);

// Where in an input the error is. `line` and `column` are 1-based; 0 means unknown.
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Error invalid_argument(std::string message) { return {ErrorCode::kInvalidArgument, std::move(message)}; }
  static Error not_found(std::string message) { return {ErrorCode::kNotFound, std::move(message)}; }
  static Error failed_precondition(std::string message) { return {ErrorCode::kFailedPrecondition, std::move(message)}; }
  static Error unavailable(std::string message) { return Error(ErrorCode::kUnavailable, std::move(message)).retryable(true); }
  static Error internal(std::string message) { return {ErrorCode::kInternal, std::move(message)}; }

  // Builders: `return Error::invalid_argument("...").at(pos).field("rules[0].for");`
  Error& at(Position position) & { position_ = std::move(position); return *this; }
  Error&& at(Position position) && { position_ = std::move(position); return std::move(*this); }
  Error& field(std::string path) & { field_ = std::move(path); return *this; }
  Error&& field(std::string path) && { field_ = std::move(path); return std::move(*this); }
  Error& retryable(bool value) & { retryable_ = value; return *this; }
  Error&& retryable(bool value) && { retryable_ = value; return std::move(*this); }

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const Position& position() const { return position_; }
  const std::string& field() const { return field_; }
  bool retryable() const { return retryable_; }

  // One line for humans: "FILE:LINE: FIELD: MESSAGE" (parts that are unknown are left out).
  std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
  Position position_;
  std::string field_;
  bool retryable_ = false;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace tocsin::core

// Propagate an error from an expression returning Result<T>/Status (GNU statement expressions,
// supported by g++ and clang; __extension__ keeps -Wpedantic quiet). TOCSIN_TRY yields the value
// of a Result<T>. Temporaries get unique names so the macros nest (e.g. inside a lambda passed
// to Store::write) without -Wshadow warnings.
#define TOCSIN_CONCAT_INNER_(a, b) a##b
#define TOCSIN_CONCAT_(a, b) TOCSIN_CONCAT_INNER_(a, b)

#define TOCSIN_TRY(expr) TOCSIN_TRY_IMPL_(expr, TOCSIN_CONCAT_(tocsin_try_, __COUNTER__))
#define TOCSIN_TRY_IMPL_(expr, tmp)                                        \
  __extension__({                                                          \
    auto&& tmp = (expr);                                                   \
    if (!tmp) return std::unexpected(std::move(tmp).error());              \
    std::move(tmp).value();                                                \
  })

#define TOCSIN_RETURN_IF_ERROR(expr) TOCSIN_RETURN_IF_ERROR_IMPL_(expr, TOCSIN_CONCAT_(tocsin_rie_, __COUNTER__))
#define TOCSIN_RETURN_IF_ERROR_IMPL_(expr, tmp)                            \
  do {                                                                     \
    auto&& tmp = (expr);                                                   \
    if (!tmp) return std::unexpected(std::move(tmp).error());              \
  } while (false)
