#include "api/sessions.h"

namespace tocsin::api {
namespace {

// Touching a session is a write: once a minute is enough to measure idleness in hours.
constexpr core::Duration kTouchEvery = std::chrono::minutes(1);

std::string token_check(const auth::TokenTable::Entry& entry) { return auth::sha256_hex(entry.digest); }

}  // namespace

Sessions::Sessions(store::Store& store, core::Clock& clock, const auth::TokenTable& tokens)
    : store_(store), clock_(clock), tokens_(tokens) {}

core::Result<Sessions::Created> Sessions::create(const auth::Principal& token) {
  const auth::TokenTable::Entry* entry = tokens_.by_name(token.name);
  if (token.kind != auth::Principal::Kind::kToken || !entry) {
    return std::unexpected(core::Error::invalid_argument("only an API token of auth.tokens can log in"));
  }
  auto id = auth::random_hex(32);
  auto csrf = auth::random_hex(32);
  if (!id || !csrf) return std::unexpected(core::Error::unavailable("no random bytes for a session id"));
  const core::Timestamp now = clock_.now();
  store::Session s{auth::sha256_hex(*id), entry->name, token_check(*entry), std::string(auth::role_name(entry->role)),
                   *csrf, now, now, now + kAbsoluteLifetime};
  TOCSIN_RETURN_IF_ERROR(store_.write([&](store::Tx& tx) -> core::Status {
    TOCSIN_TRY(tx.delete_expired_sessions(now));
    return tx.insert_session(s);
  }));
  return Created{std::move(*id), std::move(s)};
}

core::Result<std::optional<store::Session>> Sessions::find(std::string_view id) {
  if (id.size() != 64 || id.find_first_not_of("0123456789abcdef") != std::string_view::npos) return std::nullopt;
  const std::string key = auth::sha256_hex(id);
  std::optional<store::Session> found;
  TOCSIN_RETURN_IF_ERROR(store_.read([&](store::Tx& tx) -> core::Status {
    found = TOCSIN_TRY(tx.get_session(key));
    return {};
  }));
  if (!found) return std::nullopt;
  const core::Timestamp now = clock_.now();
  const auth::TokenTable::Entry* entry = tokens_.by_name(found->token_name);
  const bool live = now < found->expires_at && now - found->last_seen_at < kIdleTimeout && entry &&
                    auth::role_name(entry->role) == found->role &&
                    auth::constant_time_equal(token_check(*entry), found->token_check);
  if (!live) {
    if (auto removed = remove(id); !removed) return std::unexpected(removed.error());
    return std::nullopt;
  }
  if (now - found->last_seen_at >= kTouchEvery) {
    TOCSIN_RETURN_IF_ERROR(store_.write([&](store::Tx& tx) { return tx.touch_session(key, now); }));
    found->last_seen_at = now;
  }
  return found;
}

core::Result<bool> Sessions::remove(std::string_view id) {
  bool removed = false;
  const std::string key = auth::sha256_hex(id);
  TOCSIN_RETURN_IF_ERROR(store_.write([&](store::Tx& tx) -> core::Status {
    removed = TOCSIN_TRY(tx.delete_session(key));
    return {};
  }));
  return removed;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return std::string(value);
    }
  }
  return "";
}

}  // namespace tocsin::api
