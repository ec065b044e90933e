// The real network behind collect::Fetcher: libcurl for HTTP(S) (with the certificate's expiry
// from CURLINFO_CERTINFO) and a non-blocking POSIX connect for TCP probes.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "collect/collector.h"

namespace tocsin::collect {
namespace {

constexpr size_t kMaxBody = 32 << 20;  // a scrape larger than this is an error, not an OOM

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > kMaxBody) return 0;  // aborts the transfer
  body->append(data, size * n);
  return size * n;
}

}  // namespace

std::optional<core::Timestamp> parse_cert_expiry(const char* line) {
  const char* prefix = "Expire date:";
  if (std::strncmp(line, prefix, std::strlen(prefix)) != 0) return std::nullopt;
  std::tm tm{};
  if (!strptime(line + std::strlen(prefix), " %b %d %H:%M:%S %Y", &tm)) return std::nullopt;
  return core::from_unix_ms(static_cast<int64_t>(timegm(&tm)) * 1000);
}

namespace {

class NetworkFetcher final : public Fetcher {
 public:
  NetworkFetcher() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  HttpResult http_get(const std::string& url, core::Duration timeout) override {
    HttpResult r;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return {false, 0, "", "could not create an HTTP client", std::nullopt};
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "tocsin");
    curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl.get(), CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_ACCEPT_ENCODING, "");
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK) {
      r.error = curl_easy_strerror(rc);
      return r;
    }
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    r.ok = true;
    r.status = static_cast<int>(status);
    struct curl_certinfo* certs = nullptr;
    if (curl_easy_getinfo(curl.get(), CURLINFO_CERTINFO, &certs) == CURLE_OK && certs && certs->num_of_certs > 0) {
      for (auto* line = certs->certinfo[0]; line; line = line->next) {  // [0] is the server's own certificate
        if (auto t = parse_cert_expiry(line->data)) r.tls_not_after = t;
      }
    }
    return r;
  }

  std::string tcp_connect(const std::string& host_port, core::Duration timeout) override {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) return "expected host:port";
    std::string host = host_port.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port = host_port.substr(colon + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) return gai_strerror(rc);
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, freeaddrinfo);
    std::string last_error = "no address";
    for (auto* ai = found; ai; ai = ai->ai_next) {
      const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = poll(&p, 1, static_cast<int>(timeout.count()));
        if (rc == 1) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
          rc = err == 0 ? 0 : -1;
          if (err) last_error = std::strerror(err);
        } else {
          last_error = rc == 0 ? "timed out" : std::strerror(errno);
          rc = -1;
        }
      } else if (rc != 0) {
        last_error = std::strerror(errno);
      }
      close(fd);
      if (rc == 0) return "";
    }
    return last_error;
  }
};

}  // namespace

std::unique_ptr<Fetcher> make_network_fetcher() { return std::make_unique<NetworkFetcher>(); }

}  // namespace tocsin::collect
