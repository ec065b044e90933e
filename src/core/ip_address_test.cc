#include "core/ip_address.h"

#include <gtest/gtest.h>

namespace tocsin::core {
namespace {

std::vector<IpBlock> blocks(std::initializer_list<std::string_view> texts) {
  std::vector<IpBlock> out;
  for (auto t : texts) out.push_back(IpBlock::parse(t).value());
  return out;
}

TEST(IpAddress, ParsesBareV4AndV6AndRefusesTheRest) {
  EXPECT_TRUE(parse_ip("192.0.2.7"));
  EXPECT_TRUE(parse_ip("2001:db8::1"));
  EXPECT_TRUE(parse_ip("::ffff:10.1.2.3"));
  for (auto bad : {"", "192.0.2", "192.0.2.256", "192.0.2.7:80", "[::1]", "::1%eth0", "unknown", " 10.0.0.1"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
  // A v4 address and its mapped v6 form are the same address.
  EXPECT_EQ(parse_ip("10.1.2.3"), parse_ip("::ffff:10.1.2.3"));
}

TEST(IpBlock, ContainsWhatItsPrefixCovers) {
  const auto ten = IpBlock::parse("10.0.0.0/8").value();
  EXPECT_TRUE(ten.contains(*parse_ip("10.255.1.2")));
  EXPECT_TRUE(ten.contains(*parse_ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(ten.contains(*parse_ip("11.0.0.1")));
  EXPECT_FALSE(ten.contains(*parse_ip("2001:db8::1")));

  const auto odd = IpBlock::parse("172.16.0.0/12").value();  // a prefix inside a byte
  EXPECT_TRUE(odd.contains(*parse_ip("172.31.255.255")));
  EXPECT_FALSE(odd.contains(*parse_ip("172.32.0.0")));

  const auto one = IpBlock::parse("192.0.2.7").value();
  EXPECT_TRUE(one.contains(*parse_ip("192.0.2.7")));
  EXPECT_FALSE(one.contains(*parse_ip("192.0.2.8")));

  const auto v6 = IpBlock::parse("2001:db8::/32").value();
  EXPECT_TRUE(v6.contains(*parse_ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(*parse_ip("2001:db9::1")));

  EXPECT_TRUE(IpBlock::parse("0.0.0.0/0").value().contains(*parse_ip("203.0.113.9")));
  EXPECT_FALSE(IpBlock::parse("0.0.0.0/0").value().contains(*parse_ip("2001:db8::1")));
  // Host bits are ignored, as the kernel does.
  EXPECT_TRUE(IpBlock::parse("10.1.2.3/8").value().contains(*parse_ip("10.9.9.9")));
}

TEST(IpBlock, BadBlocksSayWhatIsExpected) {
  for (auto bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "::/129", "proxy.internal", "10.0.0.0/8/8"}) {
    auto r = IpBlock::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
}

TEST(ClientIp, TheHeaderCountsOnlyFromATrustedPeerAndOnlyUpToTheFirstUntrustedHop) {
  const auto trusted = blocks({"10.0.0.0/8", "127.0.0.1"});
  // No trusted proxies configured: the peer, whatever the header says.
  EXPECT_EQ(client_ip("10.0.0.5", "203.0.113.9", {}), "10.0.0.5");
  // An untrusted peer cannot pick its address.
  EXPECT_EQ(client_ip("198.51.100.4", "203.0.113.9", trusted), "198.51.100.4");
  // Through one proxy.
  EXPECT_EQ(client_ip("10.0.0.5", "203.0.113.9", trusted), "203.0.113.9");
  // Through two of ours: the right-most untrusted entry is the client; what the client itself
  // put in the header (1.2.3.4) is left of it and ignored.
  EXPECT_EQ(client_ip("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.0.0.7", trusted), "203.0.113.9");
  EXPECT_EQ(client_ip("127.0.0.1", "1.2.3.4,203.0.113.9,10.0.0.7", trusted), "203.0.113.9");
  // No header, or nothing usable: the last trusted hop.
  EXPECT_EQ(client_ip("10.0.0.5", "", trusted), "10.0.0.5");
  EXPECT_EQ(client_ip("10.0.0.5", "unknown", trusted), "10.0.0.5");
  EXPECT_EQ(client_ip("10.0.0.5", "203.0.113.9, garbage, 10.0.0.7", trusted), "10.0.0.7");
  // Every hop trusted: the first one.
  EXPECT_EQ(client_ip("10.0.0.5", "10.0.0.1, 10.0.0.2", trusted), "10.0.0.1");
  EXPECT_EQ(client_ip("10.0.0.5", "2001:db8::9", trusted), "2001:db8::9");
}

}  // namespace
}  // namespace tocsin::core
