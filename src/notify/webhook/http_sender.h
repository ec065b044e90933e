// Delivers webhook and Slack notifications: an HTTP POST of the notification's JSON payload to its
// address, with libcurl. 2xx is success; 4xx other than 408/429 is not retried.
// Thread-safety: one send() at a time per instance.
#pragma once

#include "notify/sender.h"

namespace tocsin::notify {

class HttpSender final : public Sender {
 public:
  explicit HttpSender(core::Duration timeout);
  ~HttpSender() override;
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;
  DeliveryResult send(const store::Notification& n) override;

 private:
  core::Duration timeout_;
  void* curl_;  // CURL*, reused so connections are kept alive between sends
};

}  // namespace tocsin::notify
