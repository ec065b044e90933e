// Who the request being handled acts as, for the audit log: Router::handle authenticates the
// request, then opens a PrincipalScope around dispatching it, and the handlers ask audit_actor()
// whom to record. Thread-local because handlers take only the http::Request and run start to end
// on the thread that called Router::handle.
// Thread-safety: each thread sees only its own scope.
#pragma once

#include <string>
#include <string_view>

#include "auth/tokens.h"

namespace tocsin::api {

class PrincipalScope {
 public:
  explicit PrincipalScope(const auth::Principal* principal);  // null: not authenticated (auth off)
  ~PrincipalScope();
  PrincipalScope(const PrincipalScope&) = delete;
  PrincipalScope& operator=(const PrincipalScope&) = delete;

 private:
  const auth::Principal* previous_;
};

// The current request's principal; null when auth is off or outside Router::handle.
const auth::Principal* current_principal();

// The actor the audit log records when the request body named `claimed` (empty or "api", the
// handlers' default, means it named nobody). Auth off: `claimed`, as before. Auth on: the
// principal's name, and a different claimed name only beside it — "alice (token ops-cli)" — so
// the log never trusts a name the client merely wrote.
std::string audit_actor(std::string_view claimed);

}  // namespace tocsin::api
