#include "auth/tokens.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <set>

namespace tocsin::auth {

bool role_at_least(config::Role held, config::Role needed) {
  return static_cast<int>(held) >= static_cast<int>(needed);
}

std::string_view role_name(config::Role role) {
  switch (role) {
    case config::Role::kViewer: return "viewer";
    case config::Role::kResponder: return "responder";
    case config::Role::kAdmin: return "admin";
  }
  return "viewer";
}

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), size);
}

namespace {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::optional<std::string> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> random_hex(size_t n) {
  std::string bytes(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) return std::nullopt;
  return to_hex(bytes);
}

std::optional<std::string> basic_auth_password(std::string_view credential) {
  std::string decoded;
  uint32_t bits = 0;
  int count = 0;
  size_t padding = 0;
  for (char c : credential) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') {
      ++padding;
      continue;
    }
    if (v < 0 || padding > 0) return std::nullopt;  // a foreign byte, or data after padding
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count % 4 == 0) {
      decoded += static_cast<char>((bits >> 16) & 0xff);
      decoded += static_cast<char>((bits >> 8) & 0xff);
      decoded += static_cast<char>(bits & 0xff);
      bits = 0;
    }
  }
  const int rest = count % 4;
  if (rest == 1 || padding > 2 || (padding > 0 && (count + padding) % 4 != 0)) return std::nullopt;
  if (rest == 2) decoded += static_cast<char>((bits >> 4) & 0xff);
  if (rest == 3) {
    decoded += static_cast<char>((bits >> 10) & 0xff);
    decoded += static_cast<char>((bits >> 2) & 0xff);
  }
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return decoded.substr(colon + 1);
}

core::Result<TokenTable> TokenTable::create(std::vector<Entry> tokens, std::optional<std::string> intake_digest) {
  std::set<std::string> names, digests;
  for (const Entry& e : tokens) {
    if (e.digest.size() != 32) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("auth token {}: expected a 32-byte SHA-256 digest, got {} bytes", e.name, e.digest.size())));
    }
    if (!names.insert(e.name).second) {
      return std::unexpected(core::Error::invalid_argument(fmt::format("auth token {}: the name is used twice", e.name)));
    }
    if (!digests.insert(e.digest).second) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("auth token {}: has the same secret as another token; give each token its own", e.name)));
    }
  }
  if (intake_digest && digests.contains(*intake_digest)) {
    return std::unexpected(core::Error::invalid_argument(
        "auth.intake: the intake secret equals an API token's; give the intake its own secret"));
  }
  TokenTable table;
  table.tokens_ = std::move(tokens);
  table.intake_digest_ = std::move(intake_digest);
  return table;
}

std::optional<Principal> TokenTable::find(std::string_view secret) const {
  const std::string digest = sha256(secret);
  const Entry* match = nullptr;
  // No early exit: every digest is compared whatever matched.
  for (const Entry& e : tokens_) {
    if (constant_time_equal(digest, e.digest)) match = &e;
  }
  const bool intake = intake_digest_ && constant_time_equal(digest, *intake_digest_);
  if (match) return Principal{Principal::Kind::kToken, match->name, match->role};
  if (intake) return Principal{Principal::Kind::kIntake, "intake", config::Role::kViewer};
  return std::nullopt;
}

const TokenTable::Entry* TokenTable::by_name(std::string_view name) const {
  for (const Entry& e : tokens_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace tocsin::auth
