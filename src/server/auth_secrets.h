// The composition root's half of auth: reads each auth.tokens secret (token_env / token_file) and
// the auth.intake secret once at start, hashes them, and keeps only the digests (auth::TokenTable).
// A secret that is configured but missing, empty or shorter than auth::kMinSecretBytes stops the
// start with an error naming the token, the config file and line, and the variable or path:
// a server that silently let a token through, or silently locked one out, is worse than one that
// does not start.
// Thread-safety: call once, before the router takes requests.
#pragma once

#include "auth/tokens.h"
#include "config/config.h"
#include "server/notifiers.h"

namespace tocsin::server {

core::Result<auth::TokenTable> load_token_table(const config::AuthConfig& auth, const EnvLookup& env);
// The auth.intake secret itself ("" when not configured), checked like load_token_table does: the
// one secret kept in memory, since replicas present it to each other when they forward samples
// (server/sample_forwarder.h).
core::Result<std::string> load_intake_secret(const config::AuthConfig& auth, const EnvLookup& env);

}  // namespace tocsin::server
