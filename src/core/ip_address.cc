#include "core/ip_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tocsin::core {

std::optional<IpAddress> parse_ip(std::string_view text) {
  // inet_pton wants a NUL-terminated string; an address is never longer than this.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress out{};
  if (text.find(':') == std::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::nullopt;
  std::memcpy(out.data(), &v6, 16);
  return out;
}

Result<IpBlock> IpBlock::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  auto ip = parse_ip(address);
  if (!ip) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("'{}' is not an IP address or CIDR block (expected e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32)", text)));
  }
  const bool v4 = address.find(':') == std::string_view::npos;
  const int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || bits < 0 || bits > max_bits) {
      return std::unexpected(Error::invalid_argument(
          fmt::format("'{}': the prefix length must be a number from 0 to {}", text, max_bits)));
    }
  }
  IpBlock block;
  block.prefix_bits_ = v4 ? bits + 96 : bits;
  // Host bits are cleared, so "10.1.2.3/8" is the block 10.0.0.0/8 (as the kernel reads it).
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(block.prefix_bits_ - 8 * i, 0, 8);
    block.base_[i] = static_cast<uint8_t>((*ip)[i] & static_cast<uint8_t>(0xff00 >> keep));
  }
  return block;
}

bool IpBlock::contains(const IpAddress& ip) const {
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(prefix_bits_ - 8 * i, 0, 8);
    if (keep == 0) return true;
    if ((ip[i] & static_cast<uint8_t>(0xff00 >> keep)) != base_[i]) return false;
  }
  return true;
}

namespace {

bool is_trusted(std::string_view ip, const std::vector<IpBlock>& trusted) {
  const auto parsed = parse_ip(ip);
  if (!parsed) return false;
  for (const auto& block : trusted) {
    if (block.contains(*parsed)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string client_ip(std::string_view peer_ip, std::string_view forwarded_for, const std::vector<IpBlock>& trusted) {
  std::string_view client = peer_ip;
  if (trusted.empty() || !is_trusted(peer_ip, trusted)) return std::string(client);
  // Right to left: the rightmost entries were added by our own proxies; what a client sent
  // itself is further left and is never reached past the first untrusted address.
  while (!forwarded_for.empty()) {
    const auto comma = forwarded_for.rfind(',');
    const std::string_view entry = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    if (!parse_ip(entry)) break;  // garbage: keep the last hop we trust
    client = entry;
    if (!is_trusted(entry, trusted)) break;
  }
  return std::string(client);
}

}  // namespace tocsin::core
