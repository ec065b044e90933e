// API tokens held as SHA-256 digests: the table the server builds at start from auth.tokens (and
// the auth.intake secret), and the lookup every request goes through. The secrets themselves are
// read by the composition root (server/auth_secrets.h) and dropped once hashed; a config may give
// only the digest (token_sha256). Lookup compares digests in constant time and does not stop at
// the first match, so its timing tells nothing about which token or how much of it matched.
// Thread-safety: a TokenTable is immutable after create(); find() may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"

namespace tocsin::auth {

// Shorter secrets are refused at start: guessable over the network.
inline constexpr size_t kMinSecretBytes = 16;

// viewer < responder < admin.
bool role_at_least(config::Role held, config::Role needed);
std::string_view role_name(config::Role role);

// The raw 32-byte SHA-256 of `data`, and the same as 64 lower-case hex digits.
std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
// nullopt unless `hex` is exactly 64 hex digits (either case).
std::optional<std::string> digest_from_hex(std::string_view hex);
// Whether a and b are equal, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);
// `n` random bytes from OpenSSL's CSPRNG, hex-encoded; nullopt if the CSPRNG failed.
std::optional<std::string> random_hex(size_t n);

// The password of an HTTP Basic credential ("dXNlcjpwYXNz" → "pass"): the base64 (RFC 4648 §4)
// of "user:password"; nullopt when it is not valid base64 or has no ':'.
std::optional<std::string> basic_auth_password(std::string_view credential);

// Who a request acts as.
struct Principal {
  enum class Kind { kToken, kSession, kIntake };
  Kind kind = Kind::kToken;
  std::string name;  // the token's name (for a session: the token it logged in with); "intake"
  config::Role role = config::Role::kViewer;  // meaningless for kIntake, which grants intake only
};

class TokenTable {
 public:
  struct Entry {
    std::string name;
    config::Role role = config::Role::kViewer;
    std::string digest;  // raw 32-byte SHA-256 of the secret
  };

  TokenTable() = default;  // no tokens: auth is off
  // Errors (invalid_argument): a digest not 32 bytes, a repeated name, two entries with the same
  // secret (a request could not tell which it is), or an intake digest equal to a token's.
  static core::Result<TokenTable> create(std::vector<Entry> tokens, std::optional<std::string> intake_digest = {});

  bool enabled() const { return !tokens_.empty(); }
  bool has_intake_secret() const { return intake_digest_.has_value(); }

  // The principal `secret` authenticates as: a token, or the intake secret; nullopt for none.
  std::optional<Principal> find(std::string_view secret) const;
  // A token by name, for sessions: nullopt when the config no longer has it.
  const Entry* by_name(std::string_view name) const;

 private:
  std::vector<Entry> tokens_;
  std::optional<std::string> intake_digest_;
};

}  // namespace tocsin::auth
