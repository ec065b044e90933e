#include "server/auth_secrets.h"

#include <fmt/format.h>

namespace tocsin::server {
namespace {

// The secret of token_env / token_file (or secret_env / secret_file), at least kMinSecretBytes.
core::Result<std::string> read_secret(const EnvLookup& env, const std::string& env_name, const std::string& file,
                                      const std::string& what) {
  std::string secret = env_name.empty() ? TOCSIN_TRY(read_secret_file(file, what))
                                        : TOCSIN_TRY(read_secret_env(env, env_name, what));
  if (secret.size() < auth::kMinSecretBytes) {
    return std::unexpected(core::Error::invalid_argument(fmt::format(
        "{}: the secret in {} {} is {} bytes; it needs at least {} (e.g. openssl rand -hex 32)", what,
        env_name.empty() ? "file" : "environment variable", env_name.empty() ? file : env_name, secret.size(),
        auth::kMinSecretBytes)));
  }
  return secret;
}

}  // namespace

core::Result<std::string> load_intake_secret(const config::AuthConfig& auth, const EnvLookup& env) {
  if (!auth.intake.configured()) return std::string();
  const std::string what = fmt::format("{}:{}: auth.intake {}", auth.intake.pos.file, auth.intake.pos.line,
                                       auth.intake.secret_env.empty() ? "secret_file" : "secret_env");
  return read_secret(env, auth.intake.secret_env, auth.intake.secret_file, what);
}

core::Result<auth::TokenTable> load_token_table(const config::AuthConfig& auth, const EnvLookup& env) {
  std::vector<auth::TokenTable::Entry> entries;
  for (const config::TokenConfig& t : auth.tokens) {
    const std::string what = fmt::format("{}:{}: auth token {}", t.pos.file, t.pos.line, t.name);
    std::string digest;
    if (!t.token_sha256.empty()) {
      auto raw = auth::digest_from_hex(t.token_sha256);
      if (!raw) return std::unexpected(core::Error::invalid_argument(what + ": token_sha256: expected 64 hex digits"));
      digest = std::move(*raw);
    } else {
      digest = auth::sha256(TOCSIN_TRY(read_secret(env, t.token_env, t.token_file,
                                                   what + (t.token_env.empty() ? " token_file" : " token_env"))));
    }
    entries.push_back({t.name, t.role, std::move(digest)});
  }
  std::optional<std::string> intake;
  if (auth.intake.configured()) intake = auth::sha256(TOCSIN_TRY(load_intake_secret(auth, env)));
  return auth::TokenTable::create(std::move(entries), std::move(intake));
}

}  // namespace tocsin::server
