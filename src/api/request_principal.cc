#include "api/request_principal.h"

#include <fmt/format.h>

namespace tocsin::api {
namespace {
thread_local const auth::Principal* current = nullptr;
}  // namespace

PrincipalScope::PrincipalScope(const auth::Principal* principal) : previous_(current) { current = principal; }
PrincipalScope::~PrincipalScope() { current = previous_; }

const auth::Principal* current_principal() { return current; }

std::string audit_actor(std::string_view claimed) {
  if (!current) return std::string(claimed.empty() ? "api" : claimed);
  if (claimed.empty() || claimed == "api" || claimed == current->name) return current->name;
  return fmt::format("{} (token {})", claimed, current->name);
}

}  // namespace tocsin::api
