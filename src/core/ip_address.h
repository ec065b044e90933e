// IP addresses and CIDR blocks, for naming the reverse proxies whose X-Forwarded-For is trusted
// (server.trusted_proxies, docs/security.md).
//
//   auto block = IpBlock::parse("10.0.0.0/8");       // or "192.0.2.7", "2001:db8::/32", "::1"
//   if (block && block->contains(*parse_ip("10.1.2.3"))) …
//
// IPv4 addresses are kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "10.0.0.0/8" also contains
// the peer "::ffff:10.1.2.3" that a dual-stack socket reports.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tocsin::core {

using IpAddress = std::array<uint8_t, 16>;

// A bare IPv4 or IPv6 address (no port, brackets or zone); nullopt when it is not one.
std::optional<IpAddress> parse_ip(std::string_view text);

class IpBlock {
 public:
  // "address/prefix" or a bare address (a block of one). invalid_argument saying what is wrong.
  static Result<IpBlock> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;

 private:
  IpAddress base_{};
  int prefix_bits_ = 128;  // of the 128-bit (mapped) form
};

// The address a request really comes from, given the peer's address and the X-Forwarded-For
// header: the peer itself unless it is one of `trusted`; else the header's addresses are read from
// right to left (each proxy appends the one it got the request from), skipping trusted ones, and
// the first other one is the client. Nothing usable in the header (absent, or an entry that is no
// address) leaves the last trusted hop — never a value a client could have made up.
std::string client_ip(std::string_view peer_ip, std::string_view forwarded_for, const std::vector<IpBlock>& trusted);

}  // namespace tocsin::core
