// Delivers "email" notifications over SMTP with libcurl: plain SMTP, or STARTTLS required
// (`starttls: true`: the mail is never sent in clear if the server does not offer TLS; the
// server's certificate is verified against the system CAs). MAIL FROM is the configured `from`
// address; RCPT TO each address of the notification's address ("a@x.org, b@y.org"). The message
// is built by email/mime.h from the payload {"subject", "text", "html"}.
//
// Which SMTP server: a notification to "channel:NAME" uses that email channel's settings; any
// other (a person's contact email, paged directly or through a schedule) uses the
// `for_people` settings — the composition root passes the first email channel's. Without
// settings for a notification, it fails, not retried, saying so.
//
// Errors: a 5xx reply, refused credentials, a failed STARTTLS or certificate check, a bad
// address or payload are not retried; connection failures, timeouts and 4xx replies are.
// Thread-safety: send() may run on several threads at once (each takes its own curl handle).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/clock.h"
#include "notify/curl_global.h"
#include "notify/sender.h"

namespace tocsin::notify::email {

struct SmtpSettings {
  std::string host;
  int port = 25;
  std::string from;  // as configured; may be "Name <address>"
  std::string username;
  std::string password;  // resolved from password_env by the composition root
  bool starttls = false;
  core::Duration timeout = std::chrono::seconds(10);
};

class SmtpSender final : public Sender {
 public:
  // `by_channel`: email channel name -> its settings.
  SmtpSender(core::Clock& clock, std::map<std::string, SmtpSettings> by_channel,
             std::optional<SmtpSettings> for_people);
  ~SmtpSender() override;
  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;
  DeliveryResult send(const store::Notification& n) override;
  // smtp://host:port of the SMTP server the notification goes through: one lane per server.
  std::string destination(const store::Notification& n) const override;

 private:
  const SmtpSettings* settings_for(const store::Notification& n) const;

  core::Clock& clock_;
  std::map<std::string, SmtpSettings> by_channel_;
  std::optional<SmtpSettings> for_people_;
  CurlHandles handles_;
};

}  // namespace tocsin::notify::email
