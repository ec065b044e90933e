#include "server/sample_forwarder.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <charconv>

#include "ingest/remote_write_encode.h"

namespace tocsin::server {
namespace {

constexpr size_t kMaxAnswerBytes = 64 * 1024;

size_t collect(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t bytes = size * n;
  if (body->size() + bytes > kMaxAnswerBytes) return 0;  // an answer this large is not ours: fail
  body->append(data, bytes);
  return bytes;
}

// A peer's answer is read, never trusted: a field of the wrong type or range counts as absent
// (nlohmann's value() and std::stoll would throw through Engine::ingest).
size_t count_in(const nlohmann::json& answer, const char* key) {
  const auto it = answer.find(key);
  return it != answer.end() && it->is_number_unsigned() ? it->get<size_t>() : 0;
}

std::optional<int64_t> incident_id(const nlohmann::json& id) {
  if (!id.is_string()) return std::nullopt;
  const auto& text = id.get_ref<const std::string&>();
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

HttpSampleForwarder::HttpSampleForwarder(ForwarderOptions options) : options_(std::move(options)) {
  notify::ensure_curl_global_init();
}

core::Result<engine::IngestResult> HttpSampleForwarder::forward(const engine::Member& to,
                                                                const std::vector<ingest::Series>& series) {
  if (to.address.empty()) {
    return std::unexpected(core::Error::unavailable(fmt::format("replica {} has no address", to.id)));
  }
  const std::string body = ingest::encode_remote_write(series);
  std::string url = to.address;
  while (url.ends_with('/')) url.pop_back();
  url += "/api/v1/write";
  const auto lease = handles_.take();
  auto* curl = static_cast<CURL*>(lease.get());
  if (!curl) return std::unexpected(core::Error::unavailable("could not create an HTTP client"));
  curl_easy_reset(curl);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/x-protobuf");
  headers = curl_slist_append(headers, "Content-Encoding: snappy");
  headers = curl_slist_append(headers, "X-Prometheus-Remote-Write-Version: 0.1.0");
  headers = curl_slist_append(headers, "User-Agent: tocsin");
  headers = curl_slist_append(headers, fmt::format("X-Tocsin-Forwarded-From: {}", options_.replica_id).c_str());
  if (!options_.intake_secret.empty()) {
    headers = curl_slist_append(headers, fmt::format("Authorization: Bearer {}", options_.intake_secret).c_str());
  }
  std::string answer;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return std::unexpected(
        core::Error::unavailable(fmt::format("forward to {} ({}): {}", to.id, url, curl_easy_strerror(rc))));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    return std::unexpected(core::Error::unavailable(
        fmt::format("forward to {} ({}): HTTP {}: {}", to.id, url, status, answer.substr(0, 200))));
  }
  // The owner's counts (200 with JSON); a 204 (an owner that predates forwarding) took them all.
  engine::IngestResult result;
  const auto json = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    result.accepted = count_in(json, "accepted");
    result.dropped = count_in(json, "dropped");
    result.alert_transitions = count_in(json, "alert_transitions");
    if (auto it = json.find("incidents_opened"); it != json.end() && it->is_array()) {
      for (const auto& id : *it) {
        if (auto value = incident_id(id)) result.incidents_opened.push_back(*value);
      }
    }
  } else {
    for (const auto& s : series) result.accepted += s.points.size();
  }
  return result;
}

}  // namespace tocsin::server
