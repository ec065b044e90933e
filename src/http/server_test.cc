// Server tests drive a real server on 127.0.0.1:0 through a small blocking POSIX-socket client, so
// the bytes on the wire (pipelining, Connection: close, limits) are what is asserted. The tests of
// ServerBoth run twice: over plain HTTP and over TLS (a certificate made at test time; the client
// speaks TLS with OpenSSL over the same socket and verifies the server against it).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http/http.h"
#include "test_support/self_signed_cert.h"
#include "test_support/temp_dir.h"

namespace tocsin::http {
namespace {

using namespace std::chrono_literals;

struct RawResponse {
  std::string status_line;
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A client TLS context trusting exactly `ca_file` and checking that the server is 127.0.0.1;
// `max_version` 0 = any.
std::shared_ptr<SSL_CTX> client_tls(const std::string& ca_file, int max_version = 0) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  EXPECT_EQ(SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr), 1) << ca_file;
  X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx.get()), "127.0.0.1");
  // The server ends responses without close_notify (http.h); a bare EOF then reads as one.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  return ctx;
}

// A blocking HTTP/1.1 client over one TCP connection, speaking TLS when given a context. Every
// receive gives up after 10 s so a broken server fails a test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port, SSL_CTX* tls = nullptr, bool v6 = false) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rc = -1;
    if (v6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(port);
      addr.sin6_addr = in6addr_loopback;
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    if (rc != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    if (tls) {
      ssl_ = SSL_new(tls);
      SSL_set_fd(ssl_, fd_);
      if (SSL_connect(ssl_) != 1) {
        char reason[256] = "";
        ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
        handshake_error_ = reason;
        ERR_clear_error();
        SSL_free(ssl_);
        ssl_ = nullptr;
        ::close(fd_);
        fd_ = -1;
      }
    }
  }
  ~Client() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  const std::string& handshake_error() const { return handshake_error_; }

  // False when the server has closed or reset the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                             : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; `head` = it answers a HEAD request (no body whatever Content-Length says).
  std::optional<RawResponse> read_response(bool head = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    RawResponse r;
    std::string_view header_block(buf_.data(), end);
    size_t line_end = header_block.find("\r\n");
    r.status_line = std::string(header_block.substr(0, line_end));
    if (r.status_line.size() < 12) return std::nullopt;
    r.status = std::stoi(r.status_line.substr(9, 3));
    while (line_end != std::string_view::npos) {
      header_block.remove_prefix(line_end + 2);
      line_end = header_block.find("\r\n");
      const std::string_view line = header_block.substr(0, line_end);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers[name] = std::string(value);
    }
    buf_.erase(0, end + 4);
    const bool bodyless = head || r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodyless && r.headers.contains("content-length")) {
      const size_t len = std::stoul(r.headers["content-length"]);
      while (buf_.size() < len) {
        if (!fill()) return std::nullopt;
      }
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    }
    return r;
  }

  // Waits until the server closes the connection (EOF or reset); false on the 10 s guard timeout.
  // Bytes that arrive first are kept in `unread()`.
  bool closed_by_peer() {
    for (;;) {
      char tmp[4096];
      const ssize_t n = receive(tmp, sizeof tmp);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  const std::string& unread() const { return buf_; }

 private:
  bool fill() {
    char tmp[4096];
    const ssize_t n = receive(tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  // recv() semantics for both: > 0 bytes, 0 at the end of the stream, < 0 with errno set (EAGAIN
  // on the 10 s guard, ECONNRESET for a reset or a broken TLS stream).
  ssize_t receive(char* buf, size_t size) {
    if (!ssl_) return ::recv(fd_, buf, size, 0);
    errno = 0;
    const int n = SSL_read(ssl_, buf, static_cast<int>(size));
    if (n > 0) return n;
    const int err = SSL_get_error(ssl_, n);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
    errno = ECONNRESET;
    return -1;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string handshake_error_;
  std::string buf_;
};

std::unique_ptr<Server> start_server(Handler handler, ServerOptions options = {}) {
  options.listen = "127.0.0.1:0";
  auto server = Server::start(std::move(options), std::move(handler));
  if (!server) {
    ADD_FAILURE() << server.error().to_string();
    return nullptr;
  }
  return std::move(*server);
}

// One certificate for the whole test program, made at its first use.
struct TestCert {
  test_support::TempDir dir;
  test_support::CertFiles files = test_support::write_self_signed_cert(dir.path(), "server");
  std::shared_ptr<SSL_CTX> client = client_tls(files.cert_file);
};

TestCert& test_cert() {
  // A TLS write to a connection the server closed raises SIGPIPE; the tests want the error.
  [[maybe_unused]] static const bool sigpipe_ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  // Destroyed at exit, which removes its directory (a leaked one left a directory in /tmp per test
  // process). OpenSSL's own exit handler was registered while this was built, so it runs after.
  static TestCert cert;
  return cert;
}

TlsOptions tls_options(const test_support::CertFiles& files) {
  TlsOptions tls;
  tls.cert_file = files.cert_file;
  tls.key_file = files.key_file;
  return tls;
}

// Runs a test over plain HTTP (param false) and over TLS (true).
class ServerBoth : public testing::TestWithParam<bool> {
 protected:
  bool use_tls() const { return GetParam(); }
  // The client context for Client: null over plain HTTP.
  SSL_CTX* tls() const { return use_tls() ? test_cert().client.get() : nullptr; }
  std::unique_ptr<Server> start(Handler handler, ServerOptions options = {}) const {
    if (use_tls()) options.tls = tls_options(test_cert().files);
    return start_server(std::move(handler), std::move(options));
  }
};

INSTANTIATE_TEST_SUITE_P(PlainAndTls, ServerBoth, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& param) { return param.param ? "Tls" : "Plain"; });

// Echoes what it saw, one "key=value" per line.
Response echo(const Request& req) {
  std::string out =
      fmt::format("method={}\npath={}\nbody={}\nx-test={}\n", req.method, req.path, req.body, req.header("x-test"));
  for (const auto& [k, v] : req.query) out += fmt::format("q.{}={}\n", k, v);
  return Response::text(200, out);
}

std::string get(std::string_view target, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", target, extra);
}

TEST_P(ServerBoth, GetAndPostEcho) {
  auto server = start(echo);
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(get("/hello", "X-Test: yes\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->header("server"), "tocsin");
  EXPECT_EQ(r->header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
  EXPECT_EQ(r->body, "method=GET\npath=/hello\nbody=\nx-test=yes\n");

  ASSERT_TRUE(c.send("POST /items HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "method=POST\npath=/items\nbody=hello world\nx-test=\n");
}

TEST_P(ServerBoth, ChunkedRequestBody) {
  auto server = start(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(
      c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
             "world\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "method=POST\npath=/c\nbody=hello world\nx-test=\n");
}

// ServerOptions::blocking: a handler that waits for another request to this same server (as a
// replica waits for a peer that is forwarding to it) runs off the single io thread, so that other
// request is still handled; inline it would wait out its deadline.
TEST(Server, ABlockingRequestRunsOffTheIoThreadSoOthersAreStillHandled) {
  std::promise<void> other_done;
  auto other = other_done.get_future().share();
  ServerOptions options;
  options.threads = 1;
  options.blocking = [](const Request& r) { return r.path == "/wait"; };
  options.blocking_threads = 2;
  auto server = start_server(
      [&](const Request& r) {
        if (r.path == "/wait") {
          const bool got = other.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
          return Response::text(200, got ? "the other request was handled meanwhile" : "timed out");
        }
        if (r.path == "/other") other_done.set_value();
        return Response::text(200, "other");
      },
      options);
  ASSERT_NE(server, nullptr);
  Client waiting(server->port());
  ASSERT_TRUE(waiting.send(get("/wait")));
  Client c(server->port());
  ASSERT_TRUE(c.send(get("/other")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "other");
  auto w = waiting.read_response();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->body, "the other request was handled meanwhile");
  // Keep-alive goes on after a response written from the pool's hand-over.
  ASSERT_TRUE(waiting.send(get("/again")));
  auto again = waiting.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  server->stop(std::chrono::seconds(1));
}

TEST(Server, DecodesPathAndQuery) {
  auto server = start_server(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.send(get("/a%20b/c+d?x=1+2&y=%26%3D&x=3&flag")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "method=GET\npath=/a b/c+d\nbody=\nx-test=\nq.flag=\nq.x=3\nq.y=&=\n");
}

TEST_P(ServerBoth, PassesRawTargetRemoteAndJoinedHeaders) {
  Request seen;
  auto server = start([&](const Request& req) {
    seen = req;
    return Response::json(200, "{}");
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send(get("/p%41th?q=%41", "X-Multi: a\r\nx-multi: b\r\n")));
  ASSERT_TRUE(c.read_response());
  EXPECT_EQ(seen.target, "/p%41th?q=%41");
  EXPECT_EQ(seen.path, "/pAth");
  EXPECT_EQ(seen.query.at("q"), "A");
  EXPECT_EQ(seen.header("x-multi"), "a, b");
  EXPECT_EQ(seen.header("host"), "test");
  EXPECT_TRUE(seen.remote.starts_with("127.0.0.1:")) << seen.remote;
  EXPECT_EQ(seen.tls, use_tls());
}

TEST_P(ServerBoth, KeepAliveServesTwoRequestsOnOneConnection) {
  auto server = start(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  for (const char* path : {"/one", "/two"}) {
    ASSERT_TRUE(c.send(get(path)));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, fmt::format("method=GET\npath={}\nbody=\nx-test=\n", path));
    EXPECT_NE(r->header("connection"), "close");
  }
}

TEST_P(ServerBoth, AnswersPipelinedRequestsInOrder) {
  auto server = start(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send(get("/1") + "POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get("/3")));
  auto r1 = c.read_response();
  auto r2 = c.read_response();
  auto r3 = c.read_response();
  ASSERT_TRUE(r1 && r2 && r3);
  EXPECT_EQ(r1->body, "method=GET\npath=/1\nbody=\nx-test=\n");
  EXPECT_EQ(r2->body, "method=POST\npath=/2\nbody=abc\nx-test=\n");
  EXPECT_EQ(r3->body, "method=GET\npath=/3\nbody=\nx-test=\n");
}

TEST_P(ServerBoth, HonoursConnectionClose) {
  std::atomic<int> calls{0};
  auto server = start([&](const Request& req) {
    ++calls;
    return echo(req);
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  // The request after the closing one must not be served.
  ASSERT_TRUE(c.send(get("/bye", "Connection: close\r\n") + get("/ignored")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(c.unread(), "");
  EXPECT_EQ(calls.load(), 1);
}

TEST(Server, Http10ClosesUnlessKeepAlive) {
  auto server = start_server(echo);
  ASSERT_NE(server, nullptr);
  {
    Client c(server->port());
    ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.0 200 OK");
    EXPECT_TRUE(c.closed_by_peer());
  }
  Client c(server->port());
  ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /b HTTP/1.0\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "method=GET\npath=/b\nbody=\nx-test=\n");
}

TEST(Server, HeadIsGetWithoutBody) {
  auto server = start_server(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after")));
  auto head = c.read_response(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"),
            std::to_string(std::string("method=GET\npath=/h\nbody=\nx-test=\n").size()));
  // If a body had been sent it would be parsed as the next status line.
  auto after = c.read_response();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "method=GET\npath=/after\nbody=\nx-test=\n");
}

TEST_P(ServerBoth, ExpectContinue) {
  auto server = start(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send("PUT /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("data"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "method=PUT\npath=/x\nbody=data\nx-test=\n");
}

TEST_P(ServerBoth, BodyOverLimitIs413AndHandlerNotCalled) {
  std::atomic<int> calls{0};
  ServerOptions options;
  options.max_body_bytes = 16;
  auto server = start(
      [&](const Request& req) {
        ++calls;
        return echo(req);
      },
      options);
  ASSERT_NE(server, nullptr);
  {
    Client c(server->port(), tls());
    ASSERT_TRUE(
        c.send(fmt::format("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{}", std::string(100, 'x'))));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_EQ(r->body, R"({"error":"request body larger than 16 bytes"})");
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(server->port(), tls());  // chunked: the size is only known while reading
    ASSERT_TRUE(
        c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
               "chunked\r\n\r\n10\r\n0123456789abcdef\r\n5\r\nmore!\r\n0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_EQ(calls.load(), 0);
  Client ok(server->port(), tls());  // exactly at the limit is fine
  ASSERT_TRUE(ok.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n0123456789abcdef"));
  auto r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_P(ServerBoth, HeaderOverLimitIs431) {
  std::atomic<int> calls{0};
  ServerOptions options;
  options.max_header_bytes = 1024;
  auto server = start(
      [&](const Request& req) {
        ++calls;
        return echo(req);
      },
      options);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send(get("/", fmt::format("X-Big: {}\r\n", std::string(4000, 'a')))));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->body, R"({"error":"request header larger than 1024 bytes"})");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(ServerBoth, GarbageIs400) {
  auto server = start(echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send("this is not http\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_TRUE(r->body.starts_with(R"({"error":"malformed HTTP request: )")) << r->body;
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_P(ServerBoth, ReadTimeoutClosesConnection) {
  std::atomic<int> calls{0};
  ServerOptions options;
  // Over TLS the handshake must fit in it too, also on a loaded machine.
  options.read_timeout = use_tls() ? 1s : 200ms;
  auto server = start(
      [&](const Request& req) {
        ++calls;
        return echo(req);
      },
      options);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: t\r\n"));  // the blank line never comes
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(c.unread(), "");
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(ServerBoth, IdleTimeoutClosesKeepAliveConnection) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  auto server = start(echo, options);
  ASSERT_NE(server, nullptr);
  Client c(server->port(), tls());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(c.unread(), "");
}

TEST_P(ServerBoth, ConnectionsBeyondMaxConnectionsGet503AndClose) {
  ServerOptions options;
  options.max_connections = 2;
  core::Counter refused;
  options.refused_connections = &refused;
  auto server = start(echo, options);
  ASSERT_NE(server, nullptr);
  Client a(server->port(), tls());
  Client b(server->port(), tls());
  // Both are served (and so registered) before the third connects.
  ASSERT_TRUE(a.send(get("/")));
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.send(get("/")));
  ASSERT_TRUE(b.read_response());
  Client c(server->port(), tls());
  ASSERT_TRUE(c.connected());
  c.send(get("/"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after"), "1");
  EXPECT_NE(r->body.find("too many connections: the server serves at most 2 at once (limits.max_connections)"),
            std::string::npos)
      << r->body;
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(refused.value(), 1);
  // The kept-alive connections still work.
  ASSERT_TRUE(a.send(get("/")));
  ASSERT_TRUE(a.read_response());
}

TEST_P(ServerBoth, InflightBodyBudgetRefusesABodyThatDoesNotFit) {
  ServerOptions options;
  options.max_body_bytes = 1 << 20;
  options.max_inflight_body_bytes = 1500;
  core::Counter refused;
  options.refused_bodies = &refused;
  auto server = start(echo, options);
  ASSERT_NE(server, nullptr);
  // A slow upload holds 1000 bytes of the budget while its body trickles in.
  Client slow(server->port(), tls());
  ASSERT_TRUE(slow.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc"));
  // Give the server the header before the second one arrives.
  for (int i = 0; i < 50; ++i) {
    Client probe(server->port(), tls());
    ASSERT_TRUE(probe.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 600\r\n\r\n" + std::string(600, 'x')));
    auto r = probe.read_response();
    ASSERT_TRUE(r);
    if (r->status == 503) {
      EXPECT_EQ(r->header("retry-after"), "1");
      EXPECT_NE(r->body.find("limits.max_inflight_body_bytes is 1500 bytes"), std::string::npos) << r->body;
      break;
    }
    ASSERT_EQ(r->status, 200);  // the slow header was not parsed yet
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(refused.value(), 1);
  // 500 bytes still fit beside the slow upload; once it completes, the budget is free again.
  Client small(server->port(), tls());
  ASSERT_TRUE(small.send("POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n" + std::string(500, 'y')));
  auto ok = small.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  ASSERT_TRUE(slow.send(std::string(997, 'z')));
  auto done = slow.read_response();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  Client again(server->port(), tls());
  ASSERT_TRUE(again.send("POST /d HTTP/1.1\r\nHost: t\r\nContent-Length: 1500\r\n\r\n" + std::string(1500, 'w')));
  auto last = again.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
}

TEST(Server, HandlerExceptionsBecome500) {
  auto server = start_server([](const Request& req) -> Response {
    if (req.path == "/std") throw std::runtime_error("boom");
    if (req.path == "/int") throw 42;
    return Response::text(200, "fine");
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  for (const char* path : {"/std", "/int"}) {
    ASSERT_TRUE(c.send(get(path)));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, R"({"error":"internal error"})");
  }
  ASSERT_TRUE(c.send(get("/ok")));  // the connection survives
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fine");
}

TEST(Server, InvalidStatusAndUnsafeHeaders) {
  auto server = start_server([](const Request& req) {
    if (req.path == "/bad") return Response::text(42, "x");
    Response r = Response::text(201, "made");
    r.headers = {{"Location", "/items/1"}, {"X-Evil", "a\r\nSet-Cookie: x=1"}, {"Content-Length", "999"}};
    return r;
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.send(get("/bad") + get("/good")));
  auto bad = c.read_response();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 500);
  auto good = c.read_response();
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 201);
  EXPECT_EQ(good->header("location"), "/items/1");
  EXPECT_EQ(good->header("x-evil"), "");
  EXPECT_EQ(good->header("set-cookie"), "");
  EXPECT_EQ(good->header("content-length"), "4");
  EXPECT_EQ(good->body, "made");
}

TEST(Server, NoContentHasNoBodyOrLength) {
  auto server = start_server([](const Request&) { return Response::text(204, "ignored"); });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.send(get("/a") + get("/b")));
  for (int i = 0; i < 2; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    EXPECT_FALSE(r->headers.contains("content-length"));
  }
}

TEST_P(ServerBoth, StopLetsInFlightRequestFinishAndClosesIdleConnections) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ServerOptions options;
  options.threads = 2;  // one io thread stays free while the slow handler blocks the other
  auto server = start(
      [&](const Request& req) {
        if (req.path == "/slow") {
          entered.set_value();
          released.wait();
          return Response::text(200, "slow done");
        }
        return Response::text(200, "fast");
      },
      options);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();

  Client idle(port, tls());
  ASSERT_TRUE(idle.send(get("/fast")));
  ASSERT_TRUE(idle.read_response());
  Client slow(port, tls());
  ASSERT_TRUE(slow.send(get("/slow")));
  entered.get_future().wait();

  std::thread stopper([&] { server->stop(30s); });
  // The idle keep-alive connection being closed shows that stop() is under way.
  EXPECT_TRUE(idle.closed_by_peer());
  release.set_value();
  auto r = slow.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(slow.closed_by_peer());
  stopper.join();

  Client after(port, tls());
  EXPECT_FALSE(after.connected());
  server->stop(1s);  // idempotent
  server->wait();    // returns at once after stop
}

TEST(Server, WaitReturnsWhenStopped) {
  auto server = start_server(echo);
  ASSERT_NE(server, nullptr);
  std::thread waiter([&] { server->wait(); });
  server->stop(0ms);
  waiter.join();
}

TEST_P(ServerBoth, ConcurrentClientsOnSeveralThreads) {
  ServerOptions options;
  options.threads = 4;
  auto server = start(echo, options);
  ASSERT_NE(server, nullptr);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      Client c(server->port(), tls());
      for (int j = 0; j < 25; ++j) {
        const std::string path = fmt::format("/c{}/{}", i, j);
        if (!c.send(get(path))) return;
        auto r = c.read_response();
        if (r && r->body == fmt::format("method=GET\npath={}\nbody=\nx-test=\n", path)) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8 * 25);
}

TEST(Server, BindToUsedPortFails) {
  auto first = start_server(echo);
  ASSERT_NE(first, nullptr);
  ServerOptions options;
  options.listen = fmt::format("127.0.0.1:{}", first->port());
  auto second = Server::start(options, echo);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), core::ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message().find(options.listen), std::string::npos) << second.error().message();
}

TEST(Server, RejectsBadOptions) {
  for (const char* listen : {"nonsense", "127.0.0.1:99999", "127.0.0.1:", "[::1]", "[::1]8080", "127.0.0.1:80x"}) {
    ServerOptions options;
    options.listen = listen;
    auto server = Server::start(options, echo);
    ASSERT_FALSE(server) << listen;
    EXPECT_EQ(server.error().code(), core::ErrorCode::kInvalidArgument) << listen;
  }
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 0;
  EXPECT_FALSE(Server::start(options, echo));
  options.threads = 1;
  EXPECT_FALSE(Server::start(options, nullptr));
}

TEST(Server, ListensOnIpv6Loopback) {
  ServerOptions options;
  options.listen = "[::1]:0";
  auto server = Server::start(options, echo);
  if (!server) GTEST_SKIP() << "no IPv6 loopback here: " << server.error().to_string();
  Client c((*server)->port(), nullptr, /*v6=*/true);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/six")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "method=GET\npath=/six\nbody=\nx-test=\n");
}

// ---- TLS only ----

std::unique_ptr<Server> start_tls_server(ServerOptions options = {}) {
  options.tls = tls_options(test_cert().files);
  return start_server(echo, std::move(options));
}

TEST(ServerTls, ClientThatNeverSendsAClientHelloIsCutOffAtReadTimeout) {
  ServerOptions options;
  options.read_timeout = 200ms;
  auto server = start_tls_server(options);
  ASSERT_NE(server, nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  Client silent(server->port());  // TCP only
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Half a handshake record is no better.
  Client partial(server->port());
  ASSERT_TRUE(partial.send(std::string("\x16\x03\x01\x02\x00", 5)));
  EXPECT_TRUE(partial.closed_by_peer());
  EXPECT_EQ(partial.unread(), "");
}

TEST(ServerTls, PlainHttpOnTheTlsPortGets400InPlainTextAndIsClosed) {
  std::atomic<int> calls{0};
  ServerOptions options;
  options.tls = tls_options(test_cert().files);
  auto server = start_server(
      [&](const Request& req) {
        ++calls;
        return echo(req);
      },
      options);
  ASSERT_NE(server, nullptr);
  Client plain(server->port());
  ASSERT_TRUE(plain.send(get("/healthz")));
  auto r = plain.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, R"({"error":"this port speaks HTTPS only (server.tls is set): use an https:// URL"})");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(plain.closed_by_peer());
  EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTls, HandshakeFailuresCloseTheConnectionAndTheServerGoesOn) {
  ServerOptions options;
  options.tls = tls_options(test_cert().files);
  options.tls->tls13_only = true;
  auto server = start_server(echo, options);
  ASSERT_NE(server, nullptr);
  const auto tls12 = client_tls(test_cert().files.cert_file, TLS1_2_VERSION);
  Client old(server->port(), tls12.get());
  EXPECT_FALSE(old.connected());
  EXPECT_NE(old.handshake_error(), "");
  // A client that trusts another certificate refuses this one.
  test_support::TempDir other_dir;
  const auto other = test_support::write_self_signed_cert(other_dir.path(), "other");
  const auto distrusting = client_tls(other.cert_file);
  Client wary(server->port(), distrusting.get());
  EXPECT_FALSE(wary.connected());
  EXPECT_NE(wary.handshake_error().find("certificate verify failed"), std::string::npos) << wary.handshake_error();
  Client fine(server->port(), test_cert().client.get());
  ASSERT_TRUE(fine.connected()) << fine.handshake_error();
  ASSERT_TRUE(fine.send(get("/ok")));
  auto r = fine.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ServerTls, ReloadServesTheNewCertificateToNewConnections) {
  test_support::TempDir dir;
  const auto first = test_support::write_self_signed_cert(dir.path(), "first");
  ServerOptions options;
  options.tls = tls_options(first);
  auto server = start_server(echo, options);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(server->tls());
  const auto trusts_first = client_tls(first.cert_file);
  Client before(server->port(), trusts_first.get());
  ASSERT_TRUE(before.connected()) << before.handshake_error();

  // Replace the files the options name, as a certificate renewal does, then reload.
  test_support::TempDir next_dir;
  const auto next = test_support::write_self_signed_cert(next_dir.path(), "next");
  std::filesystem::copy_file(next.cert_file, first.cert_file, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(next.key_file, first.key_file, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(server->reload_tls());
  const auto trusts_next = client_tls(next.cert_file);
  Client after(server->port(), trusts_next.get());
  ASSERT_TRUE(after.connected()) << after.handshake_error();
  ASSERT_TRUE(after.send(get("/new")));
  ASSERT_TRUE(after.read_response());
  Client stale(server->port(), trusts_first.get());
  EXPECT_FALSE(stale.connected());
  // The connection made before the reload goes on with the old certificate.
  ASSERT_TRUE(before.send(get("/old")));
  auto r = before.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // A broken file: the reload fails naming it, and the server keeps the certificate it had.
  std::ofstream(first.key_file, std::ios::trunc) << "garbage\n";
  auto failed = server->reload_tls();
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find(first.key_file), std::string::npos) << failed.error().message();
  Client still(server->port(), trusts_next.get());
  EXPECT_TRUE(still.connected()) << still.handshake_error();
}

TEST(ServerTls, StartFailsOnFilesThatDoNotLoad) {
  test_support::TempDir dir;
  const auto a = test_support::write_self_signed_cert(dir.path(), "a");
  const auto b = test_support::write_self_signed_cert(dir.path(), "b");
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls = TlsOptions{(dir.path() / "missing.crt").string(), a.key_file};
  auto missing = Server::start(options, echo);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message().find("missing.crt"), std::string::npos) << missing.error().message();
  options.tls = TlsOptions{a.cert_file, b.key_file};
  auto mismatch = Server::start(options, echo);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message().find(b.key_file), std::string::npos) << mismatch.error().message();
}

TEST(ServerTls, PlainServerHasNothingToReload) {
  auto server = start_server(echo);
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(server->tls());
  auto r = server->reload_tls();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), core::ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tocsin::http
