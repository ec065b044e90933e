#include "notify/ack_link.h"

#include <fmt/format.h>

#include <charconv>

#include "notify/crypto.h"

namespace tocsin::notify {
namespace {

constexpr std::string_view kVersion = "1";

// The MAC covers a context string too, so a key reused elsewhere cannot mint ack tokens.
std::string mac(std::string_view key, std::string_view payload) {
  return hmac_sha256(key, fmt::format("tocsin-ack.{}", payload));
}

bool parse_int(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

core::Error bad(std::string_view why) {
  return core::Error::invalid_argument(fmt::format("this acknowledge link is not valid: {}", why));
}

}  // namespace

std::string make_ack_token(int64_t incident, std::string_view actor, core::Timestamp expires, std::string_view key) {
  const int64_t expires_s = core::to_unix_ms(expires) / 1000;
  const std::string payload = fmt::format("{}:{}:{}:{}", kVersion, incident, expires_s, actor);
  return fmt::format("{}.{}", base64url_encode(payload), base64url_encode(mac(key, payload)));
}

core::Result<AckClaim> verify_ack_token(std::string_view token, core::Timestamp now, std::string_view key) {
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return std::unexpected(bad("it is cut short or malformed"));
  const auto payload = base64url_decode(token.substr(0, dot));
  const auto signature = base64url_decode(token.substr(dot + 1));
  if (!payload || !signature) return std::unexpected(bad("it is cut short or malformed"));
  // The signature is checked before anything in the payload is believed.
  if (!constant_time_equal(*signature, mac(key, *payload))) {
    return std::unexpected(bad("its signature does not match (the link was altered, or the server's ack key changed)"));
  }
  // version:incident:expires:actor — the actor is last and may contain ':'.
  std::string_view rest = *payload;
  std::string_view fields[3];
  for (auto& f : fields) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::unexpected(bad("it is malformed"));
    f = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  AckClaim claim;
  int64_t expires_s = 0;
  if (fields[0] != kVersion || !parse_int(fields[1], claim.incident) || !parse_int(fields[2], expires_s) ||
      claim.incident <= 0) {
    return std::unexpected(bad("it is malformed"));
  }
  claim.actor = std::string(rest);
  claim.expires = core::from_unix_ms(expires_s * 1000);
  if (now >= claim.expires) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("this acknowledge link expired at {}; acknowledge incident #{} in tocsin instead",
                    core::format_rfc3339(claim.expires), claim.incident)));
  }
  return claim;
}

std::string ack_url(std::string_view external_url, std::string_view token) {
  std::string base(external_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return fmt::format("{}/api/v1/ack/{}", base, token);
}

}  // namespace tocsin::notify
