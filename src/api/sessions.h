// Web UI sessions (docs/api.md, "Sessions"): POST /api/v1/session trades an API token for a
// random session id, which the browser holds in an HttpOnly cookie. The store keeps only the
// SHA-256 of that id, with the token's name and role, a CSRF token, and the session's times, so
// sessions survive a restart and a copy of the database logs nobody in. A session ends after
// kAbsoluteLifetime, after kIdleTimeout without a request, at logout, or at its next use once
// its token is gone from the config, has another role or another secret.
// Thread-safety: all methods may be called from any thread (the store serialises).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/tokens.h"
#include "core/clock.h"
#include "store/store.h"

namespace tocsin::api {

class Sessions {
 public:
  static constexpr core::Duration kAbsoluteLifetime = std::chrono::hours(12);
  static constexpr core::Duration kIdleTimeout = std::chrono::hours(1);
  static constexpr std::string_view kCookieName = "tocsin_session";

  // `tokens` must outlive this object.
  Sessions(store::Store& store, core::Clock& clock, const auth::TokenTable& tokens);

  struct Created {
    std::string id;  // what the cookie holds: 32 random bytes, hex
    store::Session session;
  };
  // A new session for a token principal. Errors: unavailable (store, CSPRNG).
  core::Result<Created> create(const auth::Principal& token);

  // The live session of cookie id `id`, its last_seen_at moved to now; nullopt (and the row
  // deleted) when unknown, expired, idle too long, or its token changed.
  core::Result<std::optional<store::Session>> find(std::string_view id);

  // Logout: whether the session existed.
  core::Result<bool> remove(std::string_view id);

 private:
  store::Store& store_;
  core::Clock& clock_;
  const auth::TokenTable& tokens_;
};

// The value of cookie `name` in a Cookie header ("a=1; tocsin_session=ab12"); "" when absent.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace tocsin::api
