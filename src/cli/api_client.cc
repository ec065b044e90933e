#include "cli/api_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <memory>

namespace tocsin::cli {
namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string query_escape(std::string_view value) {
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

core::Result<ApiResponse> ApiClient::get(const std::string& path) const { return request("GET", path, ""); }

core::Result<ApiResponse> ApiClient::post(const std::string& path, const std::string& json_body) const {
  return request("POST", path, json_body);
}

core::Result<ApiResponse> ApiClient::request(const std::string& method, const std::string& path,
                                             const std::string& body) const {
  if (!ca_file_.empty()) {
    // curl would say only "problem with the SSL CA cert"; name the file.
    std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(ca_file_.c_str(), "r"), std::fclose);
    if (!f) {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("cannot read the CA file {} (--cacert / TOCSIN_CACERT)", ca_file_)));
    }
  }
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return std::unexpected(core::Error::internal("could not create an HTTP client"));
  std::string base = base_url_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + path;
  ApiResponse out;
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!token_.empty()) headers = curl_slist_append(headers, fmt::format("Authorization: Bearer {}", token_).c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &out.body);
  char detail[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, detail);
  if (!ca_file_.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, ca_file_.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string message = fmt::format("{} {}: {}", method, url, detail[0] ? detail : curl_easy_strerror(rc));
    if (rc == CURLE_PEER_FAILED_VERIFICATION && ca_file_.empty()) {
      message += " (for a private CA or a self-signed certificate: --cacert FILE or TOCSIN_CACERT)";
    }
    return std::unexpected(core::Error::unavailable(message));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  return out;
}

}  // namespace tocsin::cli
