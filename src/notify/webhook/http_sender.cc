#include "notify/webhook/http_sender.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cctype>

#include "notify/crypto.h"
#include "notify/curl_global.h"

namespace tocsin::notify {
namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

std::string webhook_signature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string signed_text = fmt::format("{}.", unix_seconds);
  signed_text.append(body);
  return "sha256=" + hex_lower(hmac_sha256(secret, signed_text));
}

HttpSender::HttpSender(core::Clock& clock, core::Duration default_timeout, std::map<std::string, HttpChannel> channels)
    : clock_(clock), default_timeout_(default_timeout), channels_(std::move(channels)) {
  ensure_curl_global_init();
}

HttpSender::~HttpSender() = default;

std::string HttpSender::destination(const store::Notification& n) const {
  // scheme://authority, without user info; the default port spelled out so that
  // https://h and https://h:443 share a lane.
  std::string_view url = n.address;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "http " + n.address;
  std::string scheme(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string out = scheme + "://" + std::string(authority);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t bracket = authority.rfind(']');  // an IPv6 literal has colons of its own
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    out += out.starts_with("https:") ? ":443" : ":80";
  }
  return out;
}

DeliveryResult HttpSender::send(const store::Notification& n) {
  const auto lease = handles_.take();
  auto* curl = static_cast<CURL*>(lease.get());
  if (!curl) return {false, 0, "could not create an HTTP client", true};
  const HttpChannel* channel = nullptr;
  if (constexpr std::string_view kChannel = "channel:"; std::string_view(n.target).starts_with(kChannel)) {
    auto it = channels_.find(n.target.substr(kChannel.size()));
    if (it != channels_.end()) channel = &it->second;
  }
  curl_easy_reset(curl);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: tocsin");
  // The same on every attempt: a send whose answer was lost (a timeout, or a crash before the
  // success was recorded) is sent again, and the receiver can recognise the copy by it.
  headers = curl_slist_append(headers, fmt::format("X-Tocsin-Notification-Id: {}", n.id).c_str());
  if (channel && !channel->secret.empty()) {
    const int64_t now_s = core::to_unix_ms(clock_.now()) / 1000;
    headers = curl_slist_append(headers, fmt::format("X-Tocsin-Timestamp: {}", now_s).c_str());
    headers = curl_slist_append(
        headers, fmt::format("X-Tocsin-Signature: {}", webhook_signature(channel->secret, now_s, n.payload)).c_str());
  }
  const core::Duration timeout = channel ? channel->timeout : default_timeout_;
  curl_easy_setopt(curl, CURLOPT_URL, n.address.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, n.payload.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(n.payload.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) return {false, 0, curl_easy_strerror(rc), true};
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  const int code = static_cast<int>(status);
  if (code >= 200 && code < 300) return {true, code, "", false};
  const bool retryable = code >= 500 || code == 408 || code == 429;
  return {false, code, fmt::format("HTTP {}", code), retryable};
}

}  // namespace tocsin::notify
