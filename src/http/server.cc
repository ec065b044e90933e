// The HTTP/1.1 server of http.h on Boost.Beast. This is the only file that includes Beast/Asio.
//
// Each connection is a Session running on its own strand, one request at a time:
//   wait (idle timeout) -> read header [-> 100 Continue] -> read body (read timeout for the whole
//   request) -> handler -> write -> wait ...
// Bytes of a pipelined next request stay in the session's buffer, so pipelined requests are read
// and answered in order. A connection is closed "lingering": the send side is shut down and input
// drained briefly, so a client still sending (e.g. an oversized body) reads our error response
// instead of a reset.
//
// With TLS, a session first reads the client's first bytes from TCP: a TLS handshake record goes
// on to the handshake (fed those bytes), anything else is a plain-HTTP client, answered 400 in
// plain text. From the handshake on, requests and responses go through the TLS stream; the
// deadlines, the lingering close and stop() act on the TCP stream underneath.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "http/http.h"

namespace tocsin::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace log = core::log;

constexpr size_t kReadChunk = 4096;
// Upper bound on the lingering close; a polite client closes as soon as it sees our FIN.
constexpr core::Duration kMaxLinger = std::chrono::seconds(2);
constexpr core::Duration kAcceptRetry = std::chrono::milliseconds(100);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// The first byte of every TLS record carrying a handshake message (RFC 8446 5.1).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

class Session;

// What the server and its sessions share. Sessions hold it by shared_ptr, so it outlives them.
struct Shared {
  ServerOptions options;
  Handler handler;
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards sessions; cv signals a session ending
  std::condition_variable cv;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;
  std::atomic<size_t> inflight_body_bytes{0};  // see ServerOptions::max_inflight_body_bytes
  net::thread_pool* blocking_pool = nullptr;   // ServerOptions::blocking; owned by Server::Impl

  // The TLS context new connections use (null without TLS); reload_tls() swaps it. A session
  // keeps the one it started with alive.
  std::shared_ptr<net::ssl::context> tls_context() {
    std::lock_guard lock(tls_mu);
    return tls;
  }
  std::mutex tls_mu;
  std::shared_ptr<net::ssl::context> tls;
};

// OpenSSL's reason for the last failure of the calling thread, then clears its queue.
std::string openssl_reason(const beast::error_code& ec) {
  std::string reason = ec ? ec.message() : "";
  if (const unsigned long e = ERR_peek_last_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return reason;
}

// A server context from the PEM files; invalid_argument naming the file that does not load.
core::Result<std::shared_ptr<net::ssl::context>> make_tls_context(const TlsOptions& tls) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(native, tls.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION) != 1) {
    return std::unexpected(core::Error::internal("cannot set the minimum TLS version"));
  }
  // No prompt on the terminal for an encrypted key: it fails to load instead.
  ctx->set_password_callback([](size_t, net::ssl::context::password_purpose) { return std::string(); });
  beast::error_code ec;
  ERR_clear_error();
  if (ctx->use_certificate_chain_file(tls.cert_file, ec); ec) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("cannot load the TLS certificate chain from {}: {}", tls.cert_file, openssl_reason(ec))));
  }
  if (ctx->use_private_key_file(tls.key_file, net::ssl::context::pem, ec); ec) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("cannot load the TLS key from {}: {}", tls.key_file, openssl_reason(ec))));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return std::unexpected(core::Error::invalid_argument(fmt::format(
        "the TLS key in {} does not match the certificate in {}: {}", tls.key_file, tls.cert_file, openssl_reason({}))));
  }
  return ctx;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

bool is_token_char(char c) {
  return c > 0x20 && c < 0x7F && std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

bool safe_header(const std::string& name, const std::string& value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) return false;
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

// Beast 1.74 has its own string_view type.
std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

bool reserved_header(std::string_view name) {
  for (std::string_view reserved : {"content-length", "transfer-encoding", "connection", "server", "content-type"}) {
    if (beast::iequals(beast::string_view(name.data(), name.size()), reserved.data())) return true;
  }
  return false;
}

bool is_http_parse_error(const beast::error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
}

Request to_request(bhttp::request<bhttp::string_body>& msg, const std::string& remote, bool tls) {
  Request req;
  req.method = msg.method() == bhttp::verb::head ? "GET" : std::string(msg.method_string());
  req.target = std::string(msg.target());
  std::string_view target = req.target;
  // Absolute-form ("http://host/p?q", RFC 9112 3.2.2): keep the path and query only.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    const size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  target = target.substr(0, target.find('#'));
  const size_t q = target.find('?');
  req.path = percent_decode(target.substr(0, q));
  if (q != std::string_view::npos) req.query = parse_query(target.substr(q + 1));
  for (const auto& f : msg) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    auto [it, inserted] = req.headers.try_emplace(std::move(name), std::string(f.value()));
    if (!inserted) it->second.append(", ").append(to_std(f.value()));
  }
  req.body = std::move(msg.body());
  req.remote = remote;
  req.tls = tls;
  return req;
}

bhttp::response<bhttp::string_body> to_message(Response r, unsigned version, bool keep_alive, bool head) {
  if (r.status < 200 || r.status > 599) {
    log::error("http handler returned an invalid status", {{"status", std::to_string(r.status)}});
    r = Response::error(500, "internal error: invalid response status");
  }
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  res.set(bhttp::field::server, "tocsin");
  for (const auto& [name, value] : r.headers) {
    if (reserved_header(name)) continue;
    if (!safe_header(name, value)) {
      log::warn("http handler set an invalid header; dropped", {{"name", name}});
      continue;
    }
    res.insert(name, value);
  }
  if (r.status == 204) {
    // RFC 9110 8.6: no Content-Length (and no body) on 204.
  } else {
    if (!r.content_type.empty() && safe_header("content-type", r.content_type)) {
      res.set(bhttp::field::content_type, r.content_type);
    }
    res.content_length(r.body.size());
    // HEAD and 304 announce the length of the body they do not send.
    if (!head && r.status != 304) res.body() = std::move(r.body);
  }
  res.keep_alive(keep_alive);
  return res;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `tls_context` null: plain HTTP.
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared, std::shared_ptr<net::ssl::context> tls_context)
      : shared_(std::move(shared)), tls_context_(std::move(tls_context)) {
    if (tls_context_) {
      tls_.emplace(std::move(socket), *tls_context_);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  ~Session() {
    release_body_budget();
    std::lock_guard lock(shared_->mu);
    shared_->sessions.erase(this);
    shared_->cv.notify_all();
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    net::dispatch(tcp_stream().get_executor(), beast::bind_front_handler(&Session::begin, shared_from_this()));
  }

  // Called by Server::stop from another thread.
  void post_shutdown() {
    net::post(tcp_stream().get_executor(), beast::bind_front_handler(&Session::shutdown, shared_from_this()));
  }

 private:
  enum class Phase {
    kIdle,      // waiting for the first byte of a request
    kReading,   // a request (or, first, the TLS handshake) is partly received
    kBusy,      // the handler runs or the response is being written
    kDraining,  // lingering close
  };

  const ServerOptions& opts() const { return shared_->options; }

  // The TCP stream: deadlines, socket options, shutdown. Under TLS it carries the records.
  beast::tcp_stream& tcp_stream() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  // Calls f with the stream requests and responses go through: TLS, or TCP.
  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  void begin() {
    {
      std::lock_guard lock(shared_->mu);
      if (shared_->stopping.load()) return close_now();
      // A refused connection is not registered: it only writes its 503 and closes.
      refuse_ = shared_->sessions.size() >= opts().max_connections;
      if (!refuse_) shared_->sessions.emplace(this, weak_from_this());
    }
    beast::error_code ec;
    const tcp::endpoint peer = tcp_stream().socket().remote_endpoint(ec);
    if (ec) return close_now();
    remote_ = format_endpoint(peer);
    // Responses are written whole; Nagle would only delay pipelined answers.
    tcp_stream().socket().set_option(tcp::no_delay(true), ec);
    // The first request, TLS handshake included, must arrive within read_timeout of accept.
    first_request_deadline_ = std::chrono::steady_clock::now() + opts().read_timeout;
    if (tls_) return read_first_tls_bytes();
    after_connect();
  }

  void after_connect() {
    if (refuse_) {
      if (opts().refused_connections) opts().refused_connections->inc();
      log::warn("http connection refused: too many connections",
                {{"remote", remote_}, {"max_connections", std::to_string(opts().max_connections)}});
      return send_busy(
          fmt::format("too many connections: the server serves at most {} at once "
                      "(limits.max_connections); try again later",
                      opts().max_connections));
    }
    wait_for_request();
  }

  // ---- TLS: tell a handshake from plain HTTP, then shake hands ----

  void read_first_tls_bytes() {
    phase_ = Phase::kReading;
    tcp_stream().expires_at(first_request_deadline_);
    tcp_stream().async_read_some(buffer_.prepare(kReadChunk),
                                 beast::bind_front_handler(&Session::on_first_tls_bytes, shared_from_this()));
  }

  void on_first_tls_bytes(beast::error_code ec, size_t n) {
    if (ec) return close_now();  // EOF, or the client never said anything (read_timeout)
    buffer_.commit(n);
    const auto* first = static_cast<const unsigned char*>(buffer_.data().data());
    if (first[0] != kTlsHandshakeRecord) return refuse_plain_http();
    tls_->async_handshake(net::ssl::stream_base::server, buffer_.data(),
                          beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec, size_t used) {
    if (ec) {
      // Wrong protocol version, no shared cipher, a client that distrusts the certificate, ...
      log::debug("tls handshake failed", {{"remote", remote_}, {"error", openssl_reason(ec)}});
      return close_now();
    }
    buffer_.consume(used);
    after_connect();
  }

  // Plain HTTP on the HTTPS port: say so in plain HTTP (the client cannot read anything else),
  // then close.
  void refuse_plain_http() {
    phase_ = Phase::kBusy;
    res_ = to_message(Response::error(400, "this port speaks HTTPS only (server.tls is set): use an https:// URL"), 11,
                      false, false);
    tcp_stream().expires_after(opts().read_timeout);
    bhttp::async_write(tcp_stream(), res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->res_ = {};
      if (ec) return self->close_now();
      self->linger_close();
    });
  }

  // ---- requests ----

  // 503 with Retry-After, then a lingering close: the client may still be sending its request.
  void send_busy(std::string_view message) {
    phase_ = Phase::kBusy;
    Response r = Response::error(503, message);
    r.headers.emplace_back("Retry-After", "1");
    write(to_message(std::move(r), 11, false, false), false);
  }

  // Takes this request's body from the shared budget; false when it does not fit.
  bool charge_body_budget(uint64_t bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(bytes, opts().max_body_bytes));
    if (want == 0) return true;
    const size_t before = shared_->inflight_body_bytes.fetch_add(want);
    if (before + want > opts().max_inflight_body_bytes) {
      shared_->inflight_body_bytes.fetch_sub(want);
      return false;
    }
    charged_ = want;
    return true;
  }

  void release_body_budget() {
    if (charged_ == 0) return;
    shared_->inflight_body_bytes.fetch_sub(charged_);
    charged_ = 0;
  }

  void shutdown() {
    closing_ = true;
    if (phase_ != Phase::kBusy) close_now();  // kBusy finishes its response first (see on_write)
  }

  void wait_for_request() {
    if (closing_) return close_now();
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(std::min<size_t>(opts().max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser_->body_limit(static_cast<uint64_t>(opts().max_body_bytes));
    // A new connection should send its request promptly; a kept-alive one may wait longer.
    if (first_request_) {
      tcp_stream().expires_at(first_request_deadline_);
    } else {
      tcp_stream().expires_after(opts().idle_timeout);
    }
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    phase_ = Phase::kIdle;
    with_stream([&](auto& stream) {
      stream.async_read_some(buffer_.prepare(kReadChunk),
                             beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
    });
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec) return close_now();  // EOF, idle timeout, or closed by stop()
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    phase_ = Phase::kReading;
    // One deadline for the whole request: header, 100 Continue, body. The first request's
    // started at accept.
    if (!first_request_) tcp_stream().expires_after(opts().read_timeout);
    first_request_ = false;
    with_stream([&](auto& stream) {
      bhttp::async_read_header(stream, buffer_, *parser_,
                               beast::bind_front_handler(&Session::on_header, shared_from_this()));
    });
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return handle_request();
    // A body follows: its announced length (or the most a chunked body may be) must fit the
    // budget before any of it is read.
    const uint64_t announced = parser_->content_length() ? *parser_->content_length() : opts().max_body_bytes;
    if (!charge_body_budget(announced)) {
      if (opts().refused_bodies) opts().refused_bodies->inc();
      return send_busy(
          fmt::format("too many request bodies being received at once (limits.max_inflight_body_bytes "
                      "is {} bytes); try again later",
                      opts().max_inflight_body_bytes));
    }
    const auto& msg = parser_->get();
    if (msg.version() >= 11 && beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      with_stream([&](auto& stream) {
        net::async_write(stream, net::buffer(kContinue.data(), kContinue.size()),
                         beast::bind_front_handler(&Session::on_continue_sent, shared_from_this()));
      });
      return;
    }
    read_body();
  }

  void on_continue_sent(beast::error_code ec, size_t) {
    if (ec) return close_now();
    read_body();
  }

  void read_body() {
    with_stream([&](auto& stream) {
      bhttp::async_read(stream, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
    });
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec) return on_read_error(ec);
    handle_request();
  }

  void on_read_error(const beast::error_code& ec) {
    release_body_budget();
    if (ec == bhttp::error::body_limit) {
      return send_error(413, fmt::format("request body larger than {} bytes", opts().max_body_bytes));
    }
    if (ec == bhttp::error::header_limit) {
      return send_error(431, fmt::format("request header larger than {} bytes", opts().max_header_bytes));
    }
    // end_of_stream / partial_message: the client went away; timeouts and socket errors: nobody
    // to answer.
    if (is_http_parse_error(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return send_error(400, fmt::format("malformed HTTP request: {}", ec.message()));
    }
    close_now();
  }

  void send_error(int status, std::string_view message) {
    phase_ = Phase::kBusy;
    write(to_message(Response::error(status, message), 11, false, false), false);
  }

  void handle_request() {
    phase_ = Phase::kBusy;
    auto& msg = parser_->get();
    const bool head = msg.method() == bhttp::verb::head;
    const unsigned version = msg.version();
    const bool client_keep_alive = msg.keep_alive();
    Request req = to_request(msg, remote_, tls_.has_value());
    parser_.reset();
    if (shared_->blocking_pool && opts().blocking && opts().blocking(req)) {
      // Off the io thread; the session stays busy (nothing else touches it) until the response
      // comes back to its strand.
      net::post(*shared_->blocking_pool, [self = shared_from_this(), req = std::move(req), version, client_keep_alive,
                                          head]() mutable {
        Response res = self->call_handler(req);
        net::post(self->tcp_stream().get_executor(),
                  [self, res = std::move(res), version, client_keep_alive, head]() mutable {
                    self->respond(std::move(res), version, client_keep_alive, head);
                  });
      });
      return;
    }
    respond(call_handler(req), version, client_keep_alive, head);
  }

  void respond(Response res, unsigned version, bool client_keep_alive, bool head) {
    release_body_budget();
    // Decided after the handler: stop() may have begun while it ran.
    const bool keep_alive = client_keep_alive && !closing_ && !shared_->stopping.load();
    write(to_message(std::move(res), version, keep_alive, head), keep_alive);
  }

  Response call_handler(const Request& req) {
    try {
      return shared_->handler(req);
    } catch (const std::exception& e) {
      log::error("http handler threw", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    } catch (...) {
      log::error("http handler threw a non-std exception", {{"method", req.method}, {"path", req.path}});
    }
    return Response::error(500, "internal error");
  }

  void write(bhttp::response<bhttp::string_body> res, bool keep_alive) {
    res_ = std::move(res);
    tcp_stream().expires_after(opts().read_timeout);
    with_stream([&](auto& stream) {
      bhttp::async_write(stream, res_,
                         beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive));
    });
  }

  void on_write(bool keep_alive, beast::error_code ec, size_t) {
    res_ = {};
    if (ec) return close_now();
    if (!keep_alive || closing_) return linger_close();
    wait_for_request();
  }

  // On the TCP stream for TLS too: what the client still sends is drained undecrypted, and no
  // close_notify is sent (waiting for the client's would hold the connection open).
  void linger_close() {
    phase_ = Phase::kDraining;
    beast::error_code ec;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_now();
    // While stopping, skip the wait when nothing is unread: closing then cannot reset the
    // connection under the response.
    if (closing_ && buffer_.size() == 0 && tcp_stream().socket().available(ec) == 0 && !ec) return close_now();
    tcp_stream().expires_after(std::min(opts().read_timeout, kMaxLinger));
    drain();
  }

  void drain() {
    tcp_stream().async_read_some(net::buffer(drain_buf_),
                                 beast::bind_front_handler(&Session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, size_t) {
    if (ec) return close_now();  // EOF from the client, the linger deadline, or an error
    drain();
  }

  void close_now() {
    beast::error_code ec;
    if (tcp_stream().socket().is_open()) tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_stream().close();
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<net::ssl::context> tls_context_;  // outlives tls_, which uses it
  std::optional<beast::tcp_stream> plain_;          // exactly one of plain_ and tls_ is set
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;  // lives while async_write runs
  std::array<char, kReadChunk> drain_buf_{};
  std::string remote_;
  std::chrono::steady_clock::time_point first_request_deadline_;
  Phase phase_ = Phase::kIdle;
  size_t charged_ = 0;  // bytes of the body budget this connection holds
  bool refuse_ = false;  // over max_connections: answer 503 and close
  bool first_request_ = true;
  bool closing_ = false;  // stop() asked this connection to close
};

// Splits "host:port" / "[v6]:port" / ":port" into a TCP endpoint; a host name is resolved.
core::Result<tcp::endpoint> parse_listen(const std::string& listen, net::io_context& ioc) {
  std::string_view text = listen;
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("bad listen address \"{}\": want [v6]:port", listen)));
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("bad listen address \"{}\": want host:port", listen)));
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, err] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || err != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("bad port in listen address \"{}\"", listen)));
  }
  if (host.empty()) host = "0.0.0.0";
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<uint16_t>(port));
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(host, std::string(port_text), ec);
  if (ec || results.empty()) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("cannot resolve listen host \"{}\": {}", host, ec ? ec.message() : "no addresses")));
  }
  return results.begin()->endpoint();
}

}  // namespace

struct Server::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  // Optional so stop() can destroy them, and with them every connection left over.
  std::optional<net::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  std::optional<net::thread_pool> blocking_pool;  // ServerOptions::blocking_threads > 0
  uint16_t port = 0;

  std::mutex stop_mu;  // serializes stop()
  std::mutex state_mu;
  std::condition_variable state_cv;
  bool stopped = false;

  void accept() {
    acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor->is_open()) return;  // stop() closed it
      if (ec) {
        // E.g. out of file descriptors: back off instead of spinning.
        log::warn("http accept failed", {{"error", ec.message()}});
        accept_retry->expires_after(kAcceptRetry);
        accept_retry->async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor->is_open()) accept();
        });
        return;
      }
      try {
        std::make_shared<Session>(std::move(socket), shared, shared->tls_context())->start();
      } catch (const std::exception& e) {
        log::error("http session setup failed", {{"error", e.what()}});
      }
      accept();
    });
  }

  void run() {
    for (;;) {
      try {
        ioc->run();
        return;
      } catch (const std::exception& e) {
        log::error("http io thread caught an exception", {{"error", e.what()}});
      } catch (...) {
        log::error("http io thread caught a non-std exception");
      }
    }
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(core::Duration::zero()); }

uint16_t Server::port() const { return impl_->port; }

bool Server::tls() const { return impl_->shared->options.tls.has_value(); }

core::Status Server::reload_tls() {
  const auto& tls = impl_->shared->options.tls;
  if (!tls) return std::unexpected(core::Error::failed_precondition("the server does not serve TLS"));
  auto fresh = TOCSIN_TRY(make_tls_context(*tls));
  std::lock_guard lock(impl_->shared->tls_mu);
  impl_->shared->tls = std::move(fresh);
  return core::ok();
}

core::Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  if (!handler) return std::unexpected(core::Error::invalid_argument("http server needs a handler"));
  if (options.threads < 1) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("http threads must be >= 1, got {}", options.threads)));
  }
  if (options.read_timeout <= core::Duration::zero() || options.idle_timeout <= core::Duration::zero()) {
    return std::unexpected(core::Error::invalid_argument("http timeouts must be positive"));
  }
  if (options.max_connections < 1 || options.max_inflight_body_bytes < 1) {
    return std::unexpected(
        core::Error::invalid_argument("http max_connections and max_inflight_body_bytes must be >= 1"));
  }
  auto impl = std::make_unique<Impl>();
  if (options.tls) impl->shared->tls = TOCSIN_TRY(make_tls_context(*options.tls));
  impl->ioc.emplace(options.threads);
  const tcp::endpoint endpoint = TOCSIN_TRY(parse_listen(options.listen, *impl->ioc));

  auto& acceptor = impl->acceptor.emplace(net::make_strand(*impl->ioc));
  impl->accept_retry.emplace(acceptor.get_executor());
  beast::error_code ec;
  auto fail = [&](std::string_view what) {
    return std::unexpected(
        core::Error::unavailable(fmt::format("cannot {} {}: {}", what, options.listen, ec.message())));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return fail("open a socket for");
  // Lets a restarted server bind while old connections sit in TIME_WAIT; on Linux it does not
  // allow two listeners on one port.
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("configure");
  if (acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  impl->port = acceptor.local_endpoint(ec).port();
  if (ec) return fail("read the bound port of");

  if (options.blocking && options.blocking_threads > 0) {
    impl->blocking_pool.emplace(static_cast<size_t>(options.blocking_threads));
    impl->shared->blocking_pool = &*impl->blocking_pool;
  }
  impl->shared->options = std::move(options);
  impl->shared->handler = std::move(handler);
  impl->accept();

  std::unique_ptr<Server> server(new Server(std::move(impl)));
  try {
    for (int i = 0; i < server->impl_->shared->options.threads; ++i) {
      server->impl_->threads.emplace_back([impl_ptr = server->impl_.get()] { impl_ptr->run(); });
    }
  } catch (const std::system_error& e) {
    server->stop(core::Duration::zero());
    return std::unexpected(core::Error::internal(fmt::format("cannot start http io threads: {}", e.what())));
  }
  return server;
}

void Server::stop(core::Duration grace) {
  std::lock_guard stop_lock(impl_->stop_mu);
  {
    std::lock_guard lock(impl_->state_mu);
    if (impl_->stopped) return;
  }
  Shared& shared = *impl_->shared;
  std::vector<std::shared_ptr<Session>> live;
  {
    // Sessions that register after this see `stopping` and close themselves.
    std::lock_guard lock(shared.mu);
    shared.stopping.store(true);
    for (auto& [ptr, weak] : shared.sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  net::post(impl_->acceptor->get_executor(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor->close(ec);
    impl->accept_retry->cancel();
  });
  for (auto& s : live) s->post_shutdown();
  live.clear();  // holding them would keep them alive through the wait below
  {
    std::unique_lock lock(shared.mu);
    shared.cv.wait_for(lock, grace, [&] { return shared.sessions.empty(); });
  }
  impl_->ioc->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
  // Handlers running on the blocking pool finish (their responses, posted to the stopped
  // io_context, go with it below).
  if (impl_->blocking_pool) impl_->blocking_pool->join();
  // Destroying the io_context destroys the handlers still pending and the connections they own.
  impl_->accept_retry.reset();
  impl_->acceptor.reset();
  impl_->ioc.reset();
  impl_->blocking_pool.reset();
  {
    std::lock_guard lock(impl_->state_mu);
    impl_->stopped = true;
  }
  impl_->state_cv.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->state_mu);
  impl_->state_cv.wait(lock, [&] { return impl_->stopped; });
}

}  // namespace tocsin::http
