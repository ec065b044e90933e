// Small cryptographic and encoding helpers the channels share: HMAC-SHA256 (webhook signatures,
// acknowledge links), hex, base64 (MIME bodies) and base64url (tokens in URLs), a constant-time
// comparison, and random bytes. HMAC and randomness come from OpenSSL.
// Thread-safety: pure functions, except random_bytes, which is safe to call from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tocsin::notify {

// The 32-byte HMAC-SHA256 of `data` under `key` (raw bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);

std::string hex_lower(std::string_view bytes);

// RFC 4648 §4 with '=' padding (MIME bodies).
std::string base64_encode(std::string_view bytes);
// RFC 4648 §5, URL- and filename-safe, without padding.
std::string base64url_encode(std::string_view bytes);
// Accepts base64url without padding (as base64url_encode writes it); nullopt on any other byte or
// an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

// Whether a and b are equal, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's CSPRNG; nullopt if it failed (it should not on Linux).
std::optional<std::string> random_bytes(size_t n);

}  // namespace tocsin::notify
