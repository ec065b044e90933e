// The HTTP layer: plain request/response values, a Handler callback, and a Server that speaks
// HTTP/1.1 (keep-alive, pipelining answered in order, HTTP/1.0 close semantics, size limits and
// timeouts). No Boost types appear here; Beast lives in server.cc only.
//
// The server owns its connections and io threads. It calls the Handler once per complete request,
// on one of its io threads; requests of one connection are handled one at a time and in order,
// requests of different connections may be handled concurrently when `threads > 1`. The handler
// may block briefly (it holds up its io thread); it must not call stop(). Exceptions thrown by the
// handler become a 500 JSON error; none escapes the server.
//
// Thread-safety: Request/Response are value types. Server::port() may be called from any thread;
// stop() and wait() may be called from any thread except an io thread (i.e. not from a handler),
// concurrently and more than once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "core/time.h"

namespace tocsin::http {

struct Request {
  std::string method;                          // "GET", "POST", ...; a HEAD request arrives as "GET"
  std::string target;                          // raw target incl. query
  std::string path;                            // percent-decoded path without query
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  // lower-cased names; repeated fields joined by ", "
  std::string body;
  std::string remote;                                     // peer "ip:port" ("[v6]:port" for IPv6)
  bool tls = false;  // came over HTTPS (ServerOptions::tls), e.g. for a cookie's Secure flag
  std::string header(std::string_view lower_name) const;  // "" when absent
};

struct Response {
  int status = 200;  // outside 200..599 is sent as 500 (1xx are not final responses)
  std::string content_type = "application/json";
  std::string body;
  // Extra headers. Server, Content-Length, Content-Type and Connection are set by the server; an
  // extra header whose name or value holds CR, LF or NUL is dropped (no header injection).
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // {"error":"...","field":"..."}; "field" is left out when empty.
  static Response error(int status, std::string_view message, std::string_view field = {});
};

using Handler = std::function<Response(const Request&)>;

// HTTPS. The files are PEM (as config::TlsConfig); the server reads them at start and at
// reload_tls().
struct TlsOptions {
  std::string cert_file;  // the server certificate, then any intermediates
  std::string key_file;   // its private key, unencrypted
  bool tls13_only = false;  // false: TLS 1.2 and 1.3
};

struct ServerOptions {
  std::string listen = "127.0.0.1:8470";  // host:port or [v6]:port; port 0 picks a free one
  size_t max_body_bytes = 16 << 20;       // larger body -> 413, handler not called, connection closed
  size_t max_header_bytes = 64 << 10;     // larger request line + headers -> 431, connection closed
  // Deadline for a whole request from its first byte (for a new connection: from accept), and
  // for writing each response.
  core::Duration read_timeout = std::chrono::seconds(30);
  core::Duration idle_timeout = std::chrono::seconds(75);  // keep-alive wait for the next request
  int threads = 1;                                         // io threads, >= 1
  // Open connections at most; one more is answered 503 (Retry-After: 1) and closed at once.
  size_t max_connections = 1024;
  // Request bodies being received at once, in bytes, summed over connections (a body counts its
  // Content-Length, or max_body_bytes when chunked, from its header until its handler returns).
  // A request whose body would not fit is answered 503 (Retry-After: 1) and its connection
  // closed. With max_connections × max_header_bytes, this bounds what clients can make the
  // server hold.
  size_t max_inflight_body_bytes = 256 << 20;
  // Set: HTTPS only. The TLS handshake is part of the first request's read_timeout (counted from
  // accept); a connection whose first bytes are not a TLS handshake (plain HTTP) is answered 400
  // in plain HTTP and closed. Responses end without a TLS close_notify: they are framed by
  // Content-Length, so a truncated one is still detected.
  std::optional<TlsOptions> tls = std::nullopt;
  // Optional counters (owned by the caller, outliving the server): connections refused for
  // max_connections, requests refused for max_inflight_body_bytes.
  core::Counter* refused_connections = nullptr;
  core::Counter* refused_bodies = nullptr;
  // Requests for which `blocking` returns true are handled on a pool of `blocking_threads`
  // threads of their own instead of on an io thread (the response is still written by the io
  // threads). For handlers that wait on another server which may itself be waiting on this one
  // (replicas forwarding samples to each other): they never hold up the io threads, so the other
  // server's requests to this one are still handled. Unset or 0 threads: every request on an io
  // thread, as before.
  std::function<bool(const Request&)> blocking = nullptr;
  int blocking_threads = 0;
};

class Server {
 public:
  // Binds and listens before returning, then serves on `options.threads` io threads.
  // Errors: invalid_argument for a bad listen address or option, or TLS files that do not load
  // (naming the file); unavailable (naming the address)
  // when the address cannot be bound.
  static core::Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);

  ~Server();  // stop(0) when stop() was not called
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;  // the bound port
  bool tls() const;       // serving HTTPS

  // Re-reads the TLS certificate and key: connections accepted from now on use them, open ones
  // keep theirs. On error (naming the file) the server keeps serving with what it had.
  // failed_precondition when the server has no TLS. Any thread, including a handler's.
  core::Status reload_tls();

  // Graceful stop: stop accepting, close idle keep-alive connections and those whose request has
  // not fully arrived, let requests already being handled finish and get their response (sent with
  // "Connection: close") for up to `grace`, then close whatever is left and join the io threads.
  // A running handler cannot be interrupted: past `grace`, stop() still returns only once running
  // handlers have returned. Idempotent; a concurrent second call returns once the first finished.
  void stop(core::Duration grace);
  void wait();  // blocks until stop() has finished

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// URL helpers, also used by handlers.
// Decodes %XX escapes; a malformed escape is kept as it is, and '+' stays '+' (path semantics).
std::string percent_decode(std::string_view text);
// Splits "a=1&b=x+y" into decoded pairs; '+' means space; a key without '=' maps to ""; empty
// pieces are skipped; a repeated key keeps its last value.
std::map<std::string, std::string> parse_query(std::string_view query);
// Escapes for the inside of a JSON string literal: quote, backslash, control characters; invalid
// UTF-8 bytes become U+FFFD so the result is always valid JSON.
std::string json_escape(std::string_view text);

}  // namespace tocsin::http
