#include "notify/email/smtp_sender.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cstring>

#include "notify/curl_global.h"
#include "notify/email/mime.h"

namespace tocsin::notify::email {
namespace {

struct Upload {
  std::string_view data;
  size_t pos = 0;
};

size_t read_message(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, up->data.size() - up->pos);
  std::memcpy(buffer, up->data.data() + up->pos, n);
  up->pos += n;
  return n;
}

std::string smtp_url(const SmtpSettings& s) {
  const bool v6 = s.host.find(':') != std::string::npos && s.host.front() != '[';
  return fmt::format("smtp://{}{}{}:{}", v6 ? "[" : "", s.host, v6 ? "]" : "", s.port);
}

std::string domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? "tocsin.invalid" : std::string(address.substr(at + 1));
}

}  // namespace

SmtpSender::SmtpSender(core::Clock& clock, std::map<std::string, SmtpSettings> by_channel,
                       std::optional<SmtpSettings> for_people)
    : clock_(clock), by_channel_(std::move(by_channel)), for_people_(std::move(for_people)) {
  ensure_curl_global_init();
}

SmtpSender::~SmtpSender() = default;

const SmtpSettings* SmtpSender::settings_for(const store::Notification& n) const {
  constexpr std::string_view kChannel = "channel:";
  if (std::string_view(n.target).starts_with(kChannel)) {
    auto it = by_channel_.find(n.target.substr(kChannel.size()));
    if (it != by_channel_.end()) return &it->second;
  }
  return for_people_ ? &*for_people_ : nullptr;
}

std::string SmtpSender::destination(const store::Notification& n) const {
  const SmtpSettings* smtp = settings_for(n);
  return smtp ? fmt::format("smtp://{}:{}", smtp->host, smtp->port) : "smtp (none)";
}

DeliveryResult SmtpSender::send(const store::Notification& n) {
  const SmtpSettings* smtp = settings_for(n);
  if (!smtp) {
    return {false, 0,
            fmt::format("no SMTP server to send {}'s email: configure an email channel (person emails go "
                        "through the first email channel's smtp settings)",
                        n.target),
            false};
  }
  auto content = parse_mail_payload(n.payload);
  if (!content) return {false, 0, content.error().message(), false};
  auto recipients = parse_recipients(n.address);
  if (!recipients) return {false, 0, recipients.error().message(), false};
  const auto lease = handles_.take();
  auto* curl = static_cast<CURL*>(lease.get());
  if (!curl) return {false, 0, "could not create an SMTP client", true};

  const std::string from = bare_address(smtp->from);
  MimeMessage message;
  message.from = smtp->from;
  message.to = *recipients;
  message.content = std::move(*content);
  message.date = clock_.now();
  // Stable across retries, so a receiver can drop a copy that a retry after a lost reply sends.
  message.message_id = fmt::format("tocsin.{}.{}@{}", n.id, core::to_unix_ms(n.created_at), domain_of(from));
  message.boundary = fmt::format("=_tocsin_{}_{}", n.id, core::to_unix_ms(n.created_at));
  const std::string data = build_message(message);
  Upload upload{data, 0};

  curl_easy_reset(curl);
  char error_buffer[CURL_ERROR_SIZE] = {};
  struct curl_slist* rcpt = nullptr;
  for (const auto& r : *recipients) rcpt = curl_slist_append(rcpt, fmt::format("<{}>", r).c_str());
  const std::string url = smtp_url(*smtp);
  const std::string mail_from = fmt::format("<{}>", from);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp");
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(smtp->timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  // A new connection for every mail: libcurl would otherwise reuse an open connection to the
  // same host and port even when this send demands STARTTLS or other credentials, and send in
  // clear text over a connection another channel opened. Pages are few; a handshake is cheap.
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  if (smtp->starttls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!smtp->username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, smtp->username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, smtp->password.c_str());
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  long reply = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  // Drop the pointers to this call's stack before the handle is reused.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, nullptr);
  const int code = static_cast<int>(reply);
  if (rc == CURLE_OK) return {true, code, "", false};
  const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
  const std::string error = fmt::format("SMTP {}:{}: {}", smtp->host, smtp->port, detail);
  const bool permanent = (code >= 500 && code < 600) || rc == CURLE_LOGIN_DENIED || rc == CURLE_USE_SSL_FAILED ||
                         rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
  return {false, code, error, !permanent};
}

}  // namespace tocsin::notify::email
