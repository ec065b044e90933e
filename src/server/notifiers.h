// The composition root's half of notification: the concrete senders for each channel kind, built
// from the config with their secrets resolved once at start, and the key that signs
// acknowledge links. A secret that is configured but missing (an unset environment variable, an
// unreadable or empty file) stops the start with an error naming the channel and the key: a
// server that would silently send unsigned webhooks or unauthenticated mail is worse than one
// that does not start.
// Thread-safety: build once, before the engine starts; the senders' own contracts apply after.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "notify/email/smtp_sender.h"
#include "notify/exec/exec_sender.h"
#include "notify/webhook/http_sender.h"

namespace tocsin::server {

// Reads an environment variable (nullopt when unset); a seam so tests need not touch the real
// environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_env();

// A secret from an environment variable or a file (trailing blanks and newline trimmed). Errors
// (invalid_argument) start with `what` and name the variable or path: unset, empty, unreadable.
core::Result<std::string> read_secret_env(const EnvLookup& env, const std::string& name, const std::string& what);
core::Result<std::string> read_secret_file(const std::string& path, const std::string& what);

struct Senders {
  std::unique_ptr<notify::HttpSender> http;  // webhook and slack
  std::unique_ptr<notify::email::SmtpSender> smtp;
  std::unique_ptr<notify::exec::ExecSender> exec;
  std::map<std::string, notify::Sender*> by_kind() const;  // "webhook", "slack", "email", "exec"
};

// One sender per kind. Webhook channels get their secret (secret_env / secret_file) and timeout;
// email channels their SMTP settings (password from password_env), and a person's contact email
// goes through the first email channel's SMTP settings (none: those mails fail, and a warning
// is logged now); exec commands get PATH, HOME, LANG, LC_ALL and TZ from tocsin's environment
// and nothing else of it.
core::Result<Senders> make_senders(const config::Config& config, core::Clock& clock, const EnvLookup& env);

// The key that signs acknowledge links: the value of server.ack_secret_env when set (at least 16
// bytes), else the key in data_dir/ack.key — 32 random bytes, hex-encoded, created with mode
// 0600 at the first start and kept, so links stay valid across restarts.
core::Result<std::string> load_ack_key(const config::ServerConfig& server, const EnvLookup& env);

}  // namespace tocsin::server
