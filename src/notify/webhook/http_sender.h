// Delivers webhook and Slack notifications: an HTTP POST of the notification's JSON payload to its
// address, with libcurl. 2xx is success; 4xx other than 408/429 is not retried.
//
// Every POST carries X-Tocsin-Notification-Id: <the notification's id>, the same on every attempt,
// so a receiver can drop a copy sent again after a lost answer or a crash (at-least-once).
//
// Signatures: a notification to "channel:NAME" whose channel has a secret (`secret_env` /
// `secret_file`, resolved at start by the composition root) carries
//   X-Tocsin-Timestamp: <unix seconds>
//   X-Tocsin-Signature: sha256=<hex HMAC-SHA256 under the secret of "<timestamp>.<body>">
// so the receiver can check that tocsin sent it, unaltered, recently (docs/notifications.md).
// Thread-safety: send() may run on several threads at once (each takes its own curl handle).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "notify/curl_global.h"
#include "notify/sender.h"

namespace tocsin::notify {

struct HttpChannel {
  std::string secret;  // empty = unsigned
  core::Duration timeout = std::chrono::seconds(10);
};

class HttpSender final : public Sender {
 public:
  // `channels`: channel name -> its settings; notifications to anything else (a person's
  // webhook or Slack URL) use `default_timeout` and are not signed.
  HttpSender(core::Clock& clock, core::Duration default_timeout, std::map<std::string, HttpChannel> channels = {});
  ~HttpSender() override;
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;
  DeliveryResult send(const store::Notification& n) override;
  // scheme://host:port of the address (lower case): one lane per receiving server.
  std::string destination(const store::Notification& n) const override;

 private:
  core::Clock& clock_;
  core::Duration default_timeout_;
  std::map<std::string, HttpChannel> channels_;
  CurlHandles handles_;  // reused, so connections are kept alive between sends
};

// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), timestamp in unix seconds.
std::string webhook_signature(std::string_view secret, int64_t unix_seconds, std::string_view body);

}  // namespace tocsin::notify
