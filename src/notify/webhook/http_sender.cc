#include "notify/webhook/http_sender.h"

#include <curl/curl.h>
#include <fmt/format.h>

namespace tocsin::notify {
namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

// curl_global_init is not thread-safe; do it once before any handle exists.
void global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

}  // namespace

HttpSender::HttpSender(core::Duration timeout) : timeout_(timeout) {
  global_init();
  curl_ = curl_easy_init();
}

HttpSender::~HttpSender() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

DeliveryResult HttpSender::send(const store::Notification& n) {
  auto* curl = static_cast<CURL*>(curl_);
  if (!curl) return {false, 0, "could not create an HTTP client", true};
  curl_easy_reset(curl);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: tocsin");
  curl_easy_setopt(curl, CURLOPT_URL, n.address.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, n.payload.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(n.payload.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
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
