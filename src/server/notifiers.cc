#include "server/notifiers.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "notify/crypto.h"

namespace tocsin::server {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMinAckSecretBytes = 16;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

// Writes a new key file with O_EXCL, so two processes starting at once cannot both create one.
core::Status create_key_file(const fs::path& file, std::string_view key) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return std::unexpected(core::Error::unavailable(fmt::format("cannot create {}: {}", file.string(), std::strerror(errno))));
  }
  const std::string text = std::string(key) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    std::error_code ec;
    fs::remove(file, ec);
    return std::unexpected(core::Error::unavailable(fmt::format("cannot write {}: {}", file.string(), std::strerror(saved))));
  }
  return {};
}

}  // namespace

core::Result<std::string> read_secret_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("{}: cannot read secret file {}: {}", what, path, std::strerror(errno))));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = trim(text.str());
  if (secret.empty()) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("{}: secret file {} is empty", what, path)));
  }
  return secret;
}

core::Result<std::string> read_secret_env(const EnvLookup& env, const std::string& name, const std::string& what) {
  auto value = env(name);
  if (!value || value->empty()) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("{}: environment variable {} is {}", what, name, value ? "empty" : "not set")));
  }
  return *value;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
}

std::map<std::string, notify::Sender*> Senders::by_kind() const {
  return {{"webhook", http.get()}, {"slack", http.get()}, {"email", smtp.get()}, {"exec", exec.get()}};
}

core::Result<Senders> make_senders(const config::Config& config, core::Clock& clock, const EnvLookup& env) {
  std::map<std::string, notify::HttpChannel> http_channels;
  std::map<std::string, notify::email::SmtpSettings> smtp_channels;
  std::optional<notify::email::SmtpSettings> for_people;
  std::map<std::string, core::Duration> exec_timeouts;
  for (const auto& c : config.channels) {
    const std::string what = fmt::format("channel {}", c.name);
    switch (c.type) {
      case config::ChannelType::kWebhook:
      case config::ChannelType::kSlack: {
        notify::HttpChannel h;
        h.timeout = c.timeout;
        if (!c.secret_env.empty()) h.secret = TOCSIN_TRY(read_secret_env(env, c.secret_env, what + " secret_env"));
        if (!c.secret_file.empty()) h.secret = TOCSIN_TRY(read_secret_file(c.secret_file, what + " secret_file"));
        http_channels.emplace(c.name, std::move(h));
        break;
      }
      case config::ChannelType::kEmail: {
        notify::email::SmtpSettings s;
        s.host = c.smtp.host;
        s.port = c.smtp.port;
        s.from = c.smtp.from;
        s.username = c.smtp.username;
        s.starttls = c.smtp.starttls;
        s.timeout = c.timeout;
        if (!c.smtp.password_env.empty()) {
          s.password = TOCSIN_TRY(read_secret_env(env, c.smtp.password_env, what + " smtp.password_env"));
        }
        if (!for_people) for_people = s;
        smtp_channels.emplace(c.name, std::move(s));
        break;
      }
      case config::ChannelType::kExec:
        exec_timeouts.emplace(c.name, c.timeout);
        break;
    }
  }
  const bool people_have_email = std::any_of(config.people.begin(), config.people.end(),
                                             [](const config::Person& p) { return !p.contact.email.empty(); });
  if (people_have_email && !for_people) {
    core::log::warn("people have contact emails but no email channel is configured: their emails will fail "
                    "(person emails go through the first email channel's smtp settings)");
  }
  std::vector<std::string> base_env;
  for (const char* name : {"PATH", "HOME", "LANG", "LC_ALL", "TZ"}) {
    if (auto value = env(name)) base_env.push_back(fmt::format("{}={}", name, *value));
  }
  if (!env("PATH")) base_env.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
  Senders senders;
  senders.http = std::make_unique<notify::HttpSender>(clock, std::chrono::seconds(10), std::move(http_channels));
  senders.smtp = std::make_unique<notify::email::SmtpSender>(clock, std::move(smtp_channels), std::move(for_people));
  senders.exec = std::make_unique<notify::exec::ExecSender>(clock, std::move(exec_timeouts), std::move(base_env));
  return senders;
}

core::Result<std::string> load_ack_key(const config::ServerConfig& server, const EnvLookup& env) {
  if (!server.ack_secret_env.empty()) {
    std::string key = TOCSIN_TRY(read_secret_env(env, server.ack_secret_env, "server.ack_secret_env"));
    if (key.size() < kMinAckSecretBytes) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("server.ack_secret_env: {} holds {} bytes; acknowledge links need a secret of at least {}",
                      server.ack_secret_env, key.size(), kMinAckSecretBytes)));
    }
    return key;
  }
  const fs::path file = fs::path(server.data_dir) / "ack.key";
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (!fs::exists(file)) {
    const auto bytes = notify::random_bytes(32);
    if (!bytes) return std::unexpected(core::Error::internal("no random bytes for the acknowledge link key"));
    auto created = create_key_file(file, notify::hex_lower(*bytes));
    // Lost a race with another process creating it: use theirs.
    if (!created && !fs::exists(file)) return std::unexpected(created.error());
    if (created) core::log::info("created the acknowledge link key", {{"file", file.string()}});
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    core::log::warn("the acknowledge link key is readable by others; chmod 600 it",
                    {{"file", file.string()}, {"mode", fmt::format("{:o}", st.st_mode & 0777)}});
  }
  std::string key = TOCSIN_TRY(read_secret_file(file.string(), "acknowledge link key"));
  if (key.size() < kMinAckSecretBytes) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("acknowledge link key {} is too short ({} bytes); delete it to have a new one made", file.string(),
                    key.size())));
  }
  return key;
}

}  // namespace tocsin::server
