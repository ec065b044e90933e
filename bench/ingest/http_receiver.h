// A minimal blocking HTTP/1.1 server for the benchmarks' webhook receivers and scrape targets:
// one thread per connection, keep-alive, bodies by Content-Length or chunked. It stamps each
// request with CLOCK_MONOTONIC (steady_clock) when the request has fully arrived, before anything
// else is done with it, so a sender in the same process measures end to end on one clock.
//
// serve_forever(port, on, respond): `on(arrived, request)` gets the head and body of every request
// (called on the connection's thread; synchronise yourself), `respond(path)` the 200 body.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace tocsin::bench {

// A listening loopback socket on `port` (0: any free port; see bound_port). Exits on failure.
inline int listen_on(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    std::perror("bind/listen");
    std::exit(2);
  }
  return fd;
}

// Reads HTTP requests off one connection and hands each (arrival time, head + body) to `on`;
// answers each with 200 and `respond(path)`.
template <class On, class Respond>
void serve_connection(int fd, On on, Respond respond) {
  using Clock = std::chrono::steady_clock;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string buf;
  char chunk[65536];
  for (;;) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) { ::close(fd); return; }
      buf.append(chunk, static_cast<size_t>(n));
    }
    size_t length = 0;
    bool chunked = false;
    for (size_t p = 0; p < end;) {
      size_t q = buf.find("\r\n", p);
      if (q == std::string::npos || q > end) q = end;
      std::string line = buf.substr(p, q - p);
      for (auto& ch : line) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (line.rfind("content-length:", 0) == 0) length = std::strtoul(line.c_str() + 15, nullptr, 10);
      if (line.rfind("transfer-encoding:", 0) == 0 && line.find("chunked") != std::string::npos) chunked = true;
      p = q + 2;
    }
    size_t total = end + 4 + length;
    if (chunked) {  // read until the terminating chunk
      while (buf.find("\r\n0\r\n\r\n", end) == std::string::npos) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) { ::close(fd); return; }
        buf.append(chunk, static_cast<size_t>(n));
      }
      total = buf.find("\r\n0\r\n\r\n", end) + 7;
    }
    while (buf.size() < total) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) { ::close(fd); return; }
      buf.append(chunk, static_cast<size_t>(n));
    }
    const auto arrived = Clock::now();
    const std::string request = buf.substr(0, total);
    buf.erase(0, total);
    const size_t sp1 = request.find(' ');
    const size_t sp2 = request.find(' ', sp1 + 1);
    const std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
    on(arrived, request);
    const std::string body = respond(path);
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL) < 0) { ::close(fd); return; }
  }
}

// Accepts connections on `port` on a detached thread, each served on its own detached thread.
template <class On, class Respond>
void serve_forever(int port, On on, Respond respond) {
  const int lfd = listen_on(port);
  std::thread([=] {
    for (;;) {
      const int fd = ::accept(lfd, nullptr, nullptr);
      if (fd < 0) continue;
      std::thread(serve_connection<On, Respond>, fd, on, respond).detach();
    }
  }).detach();
}

}  // namespace tocsin::bench
