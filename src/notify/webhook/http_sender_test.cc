#include "notify/webhook/http_sender.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <mutex>

#include "core/simulated_clock.h"
#include "http/http.h"

namespace tocsin::notify {
namespace {

// Computed independently: python3 -c "import hmac, hashlib;
//   print(hmac.new(b'topsecret', b'1767225600.{\"a\":1}', hashlib.sha256).hexdigest())"
TEST(WebhookSignature, MatchesAnIndependentHmac) {
  EXPECT_EQ(webhook_signature("topsecret", 1767225600, R"({"a":1})"),
            "sha256=4fe3c47468405ef2cad64bcbf4ce28b3077d4978f27c8082e5bc2a941bf2e6ac");
}

class HttpSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
      std::lock_guard lock(mu_);
      requests_.push_back(r);
      return http::Response::json(200, "{}");
    }).value();
  }
  std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", server_->port(), path); }
  store::Notification to(std::string target, std::string path) {
    store::Notification n;
    n.target = std::move(target);
    n.channel = "webhook";
    n.address = url(path);
    n.payload = R"({"a":1})";
    return n;
  }

  core::SimulatedClock clock_{core::from_unix_ms(1767225600'250)};
  std::mutex mu_;
  std::vector<http::Request> requests_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(HttpSenderTest, AChannelWithASecretSignsEveryPost) {
  HttpSender sender(clock_, std::chrono::seconds(5), {{"signed", {"topsecret", std::chrono::seconds(5)}}});
  ASSERT_TRUE(sender.send(to("channel:signed", "/signed")).ok);
  ASSERT_TRUE(sender.send(to("channel:other", "/other")).ok);
  ASSERT_TRUE(sender.send(to("person:bob", "/bob")).ok);
  std::lock_guard lock(mu_);
  ASSERT_EQ(requests_.size(), 3u);
  EXPECT_EQ(requests_[0].header("x-tocsin-timestamp"), "1767225600");
  EXPECT_EQ(requests_[0].header("x-tocsin-signature"),
            "sha256=4fe3c47468405ef2cad64bcbf4ce28b3077d4978f27c8082e5bc2a941bf2e6ac");
  EXPECT_EQ(requests_[0].body, R"({"a":1})");
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(requests_[i].header("x-tocsin-signature"), "") << requests_[i].path;
    EXPECT_EQ(requests_[i].header("x-tocsin-timestamp"), "") << requests_[i].path;
  }
}

TEST_F(HttpSenderTest, EveryPostNamesItsNotificationTheSameOnEveryAttempt) {
  HttpSender sender(clock_, std::chrono::seconds(5));
  store::Notification n = to("person:bob", "/bob");
  n.id = 42;
  ASSERT_TRUE(sender.send(n).ok);
  ASSERT_TRUE(sender.send(n).ok);  // a retry
  n.id = 43;
  ASSERT_TRUE(sender.send(n).ok);
  std::lock_guard lock(mu_);
  ASSERT_EQ(requests_.size(), 3u);
  EXPECT_EQ(requests_[0].header("x-tocsin-notification-id"), "42");
  EXPECT_EQ(requests_[1].header("x-tocsin-notification-id"), "42");
  EXPECT_EQ(requests_[2].header("x-tocsin-notification-id"), "43");
}

}  // namespace
}  // namespace tocsin::notify
