// The libcurl forwarder against a local HTTP server standing in for the owning replica.
#include "server/sample_forwarder.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <mutex>

#include "http/http.h"
#include "ingest/remote_write.h"

namespace tocsin::server {
namespace {

class SampleForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_ =
        http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
          std::lock_guard lock(mu_);
          got_ = r;
          if (status_ != 200) return http::Response::error(status_, "refused");
          return http::Response::text(200, answer_, "application/json");
        }).value();
  }
  engine::Member owner() const { return {"replica-b", fmt::format("http://127.0.0.1:{}/", owner_->port())}; }
  static ForwarderOptions options(std::string secret = {}) {
    ForwarderOptions o;
    o.replica_id = "replica-a";
    o.intake_secret = std::move(secret);
    return o;
  }
  static std::vector<ingest::Series> series() {
    return {{core::Labels{{"__name__", "m"}, {"i", "1"}},
             {{1.5, core::from_unix_ms(1000)}, {2.5, core::from_unix_ms(2000)}}},
            {core::Labels{{"__name__", "m"}, {"i", "2"}}, {{3.5, core::from_unix_ms(1000)}}}};
  }

  std::mutex mu_;
  http::Request got_;
  int status_ = 200;
  std::string answer_ = R"({"accepted":3,"dropped":1,"alert_transitions":1,"incidents_opened":["7"]})";
  std::unique_ptr<http::Server> owner_;
};

TEST_F(SampleForwarderTest, PostsRemoteWriteWithTheForwardedHeaderAndReturnsTheOwnersCounts) {
  HttpSampleForwarder forwarder(options("0123456789abcdef0123"));
  auto result = forwarder.forward(owner(), series());
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  EXPECT_EQ(result->accepted, 3u);
  EXPECT_EQ(result->dropped, 1u);
  EXPECT_EQ(result->alert_transitions, 1u);
  EXPECT_EQ(result->incidents_opened, std::vector<int64_t>{7});
  std::lock_guard lock(mu_);
  EXPECT_EQ(got_.method, "POST");
  EXPECT_EQ(got_.path, "/api/v1/write");
  EXPECT_EQ(got_.header("x-tocsin-forwarded-from"), "replica-a");
  EXPECT_EQ(got_.header("authorization"), "Bearer 0123456789abcdef0123");
  EXPECT_EQ(got_.header("content-encoding"), "snappy");
  EXPECT_EQ(got_.header("content-type"), "application/x-protobuf");
  auto decoded = ingest::decode_write_request(ingest::snappy_decompress(got_.body).value());
  ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].labels, series()[0].labels);
  EXPECT_EQ((*decoded)[0].points.size(), 2u);
}

TEST_F(SampleForwarderTest, NoSecretNoAuthorizationHeader) {
  HttpSampleForwarder forwarder(options());
  ASSERT_TRUE(forwarder.forward(owner(), series()).has_value());
  std::lock_guard lock(mu_);
  EXPECT_EQ(got_.header("authorization"), "");
}

TEST_F(SampleForwarderTest, ANon2xxOrAnUnreachableOwnerIsAnError) {
  HttpSampleForwarder forwarder(options());
  status_ = 503;
  auto refused = forwarder.forward(owner(), series());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("HTTP 503"), std::string::npos) << refused.error().to_string();
  status_ = 401;
  EXPECT_FALSE(forwarder.forward(owner(), series()).has_value());
  const uint16_t port = owner_->port();
  owner_.reset();  // nobody listens there now
  auto gone = forwarder.forward({"replica-b", fmt::format("http://127.0.0.1:{}", port)}, series());
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code(), core::ErrorCode::kUnavailable);
  EXPECT_FALSE(forwarder.forward({"replica-c", ""}, series()).has_value());  // no address
}

// The samples were taken (a 2xx), so a peer's answer that does not read as counts costs the
// counts, not the request: nothing throws through Engine::ingest.
TEST_F(SampleForwarderTest, AMalformedAnswerFromTheOwnerKeepsWhatReadsAndThrowsNothing) {
  HttpSampleForwarder forwarder(options());
  {
    std::lock_guard lock(mu_);
    answer_ = R"({"accepted":"3","dropped":-1,"alert_transitions":2,)"
              R"("incidents_opened":["x7","","99999999999999999999999",12,"8"]})";
  }
  auto result = forwarder.forward(owner(), series());
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  EXPECT_EQ(result->accepted, 0u);
  EXPECT_EQ(result->dropped, 0u);
  EXPECT_EQ(result->alert_transitions, 2u);
  EXPECT_EQ(result->incidents_opened, std::vector<int64_t>{8});
}

}  // namespace
}  // namespace tocsin::server
