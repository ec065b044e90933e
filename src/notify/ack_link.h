// Acknowledge links: every page carries <external_url>/api/v1/ack/<token>, so whoever receives
// it can acknowledge the incident without logging in. The token names the incident, who was paged
// (a person id, or the target for channels) and when it expires, and is signed with HMAC-SHA256
// under the server's ack key; nothing is stored per link.
//
//   token   = base64url(payload) "." base64url(HMAC-SHA256(key, "tocsin-ack." payload))
//   payload = "1:" incident id ":" expiry (unix seconds) ":" actor
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace tocsin::notify {

// How long a link stays valid after its page was created.
inline constexpr core::Duration kAckLinkLifetime = std::chrono::hours(24);

struct AckClaim {
  int64_t incident = 0;
  std::string actor;
  core::Timestamp expires{};  // whole seconds
};

// `expires` is truncated to whole seconds. `key` must not be empty.
std::string make_ack_token(int64_t incident, std::string_view actor, core::Timestamp expires, std::string_view key);

// The claim of a genuine, unexpired token (valid while now < expires). Errors, all
// invalid_argument with a message fit to show the person who clicked: malformed, signature
// mismatch (altered, or signed with another key), expired.
core::Result<AckClaim> verify_ack_token(std::string_view token, core::Timestamp now, std::string_view key);

// <external_url without trailing '/'>/api/v1/ack/<token>
std::string ack_url(std::string_view external_url, std::string_view token);

}  // namespace tocsin::notify
