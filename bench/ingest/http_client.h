// A minimal blocking HTTP/1.1 keep-alive client over one TCP connection, for the benchmarks:
// no TLS, no redirects, bodies by Content-Length or chunked. Its per-request cost is a write and
// a read or two, so the load generator measures the server, not a client library.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin::bench {

class HttpConnection {
 public:
  HttpConnection(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~HttpConnection() { close_socket(); }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads the whole response. Returns the status code, or -1 on a
  // connection error (reconnects on the next call). `error` says what went wrong.
  int request(std::string_view method, std::string_view path, std::string_view extra_headers,
              std::string_view body, std::string* response_body = nullptr, std::string* error = nullptr) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool fresh = fd_ < 0;
      if (fd_ < 0 && !connect_socket(error)) return -1;
      head_.clear();
      head_.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_);
      head_.append(":").append(std::to_string(port_)).append("\r\n").append(extra_headers);
      head_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
      if (!send_all(head_) || !send_all(body)) {
        close_socket();
        if (!fresh) continue;  // a keep-alive connection the server had closed: retry once
        if (error) *error = std::string("send: ") + std::strerror(errno);
        return -1;
      }
      const int status = read_response(response_body, error);
      if (status < 0) {
        close_socket();
        if (!fresh && buf_.empty()) continue;
        return -1;
      }
      return status;
    }
    return -1;
  }

 private:
  bool connect_socket(std::string* error) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (error) *error = std::string("connect: ") + std::strerror(errno);
      close_socket();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf_.clear();
    return true;
  }

  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool fill() {
    char chunk[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  static bool iequals_prefix(std::string_view line, std::string_view name) {
    if (line.size() < name.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    }
    return true;
  }

  int read_response(std::string* body_out, std::string* error) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        if (error) *error = "connection closed before the response";
        return -1;
      }
    }
    std::string_view head(buf_.data(), end);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
      if (error) *error = "bad status line";
      return -1;
    }
    const int status = std::atoi(std::string(head.substr(9, 3)).c_str());
    long content_length = -1;
    bool chunked = false;
    bool close_after = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
      if (iequals_prefix(line, "content-length:")) content_length = std::atol(std::string(line.substr(15)).c_str());
      if (iequals_prefix(line, "transfer-encoding:") && line.find("chunked") != std::string_view::npos) chunked = true;
      if (iequals_prefix(line, "connection:") && line.find("close") != std::string_view::npos) close_after = true;
      pos = next;
    }
    buf_.erase(0, end + 4);
    std::string body;
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!fill()) return -1;
        }
        const long size = std::strtol(buf_.substr(0, eol).c_str(), nullptr, 16);
        while (buf_.size() < eol + 2 + static_cast<size_t>(size) + 2) {
          if (!fill()) return -1;
        }
        body.append(buf_, eol + 2, static_cast<size_t>(size));
        buf_.erase(0, eol + 2 + static_cast<size_t>(size) + 2);
        if (size == 0) break;
      }
    } else if (content_length > 0) {
      while (buf_.size() < static_cast<size_t>(content_length)) {
        if (!fill()) return -1;
      }
      body.assign(buf_, 0, static_cast<size_t>(content_length));
      buf_.erase(0, static_cast<size_t>(content_length));
    } else if (content_length < 0 && status >= 200 && status != 204 && status != 304) {
      while (fill()) {
      }
      body = std::move(buf_);
      buf_.clear();
      close_after = true;
    }
    if (body_out) *body_out = std::move(body);
    if (close_after) close_socket();
    return status;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string head_;
  std::string buf_;
};

// One server of a benchmark: http://HOST:PORT[/PATH].
struct HttpTarget {
  std::string host;
  int port = 0;
  std::string path = "/";
};

// A comma-separated list of http://HOST:PORT[/PATH] (several replicas of one service); the error
// says what is wrong.
inline bool parse_http_targets(std::string_view list, std::vector<HttpTarget>& out, std::string& error) {
  out.clear();
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view url = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (url.rfind("http://", 0) != 0) {
      error = "a URL must start with http://: " + std::string(url);
      return false;
    }
    url.remove_prefix(7);
    const size_t slash = url.find('/');
    const std::string_view hostport = url.substr(0, slash);
    HttpTarget t;
    if (slash != std::string_view::npos) t.path = std::string(url.substr(slash));
    const size_t colon = hostport.find(':');
    if (colon == std::string_view::npos) {
      error = "a URL needs a port: " + std::string(hostport);
      return false;
    }
    t.host = std::string(hostport.substr(0, colon));
    t.port = std::atoi(std::string(hostport.substr(colon + 1)).c_str());
    out.push_back(std::move(t));
  }
  if (out.empty()) error = "no URL";
  return !out.empty();
}

// The options naming the servers a generator loads, shared by the generators: --url (one or
// several replicas, comma-separated), --pid (theirs, comma-separated) and --db-pid (a database's
// postmaster). True when `option` was one of them (`value` gives its argument); `error` is set
// when the argument is bad.
template <class Value>
bool take_server_option(const std::string& option, Value value, std::vector<HttpTarget>& targets,
                        std::vector<int>& pids, int& db_pid, std::string& error) {
  if (option == "--url") {
    if (!parse_http_targets(value(), targets, error)) error = "--url: " + error;
  } else if (option == "--pid") {
    std::istringstream in(value());
    std::string one;
    pids.clear();
    while (std::getline(in, one, ',')) {
      if (!one.empty()) pids.push_back(std::atoi(one.c_str()));
    }
  } else if (option == "--db-pid") {
    db_pid = std::atoi(value().c_str());
  } else {
    return false;
  }
  return true;
}

// A keep-alive connection to each of several servers, used in turn: request k goes to server
// (first + k) mod n, so a load spreads round-robin over replicas.
class RoundRobin {
 public:
  RoundRobin(const std::vector<HttpTarget>& targets, size_t first) : next_(first % targets.size()) {
    for (const auto& t : targets) connections_.push_back(std::make_unique<HttpConnection>(t.host, t.port));
  }
  HttpConnection& next() {
    HttpConnection& c = *connections_[next_];
    next_ = (next_ + 1) % connections_.size();
    return c;
  }

 private:
  std::vector<std::unique_ptr<HttpConnection>> connections_;
  size_t next_;
};

}  // namespace tocsin::bench
