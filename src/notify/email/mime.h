// The email a page or an alert-group flush becomes: an RFC 5322 message with a MIME
// multipart/alternative body (text/plain, then text/html, both UTF-8 and base64), built from the
// notification's payload {"subject", "text", "html"} (notify/payload.h email_page,
// notify/group_message.h email_group). A non-ASCII subject is RFC 2047-encoded; CR, LF and other
// control characters never reach a header.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace tocsin::notify::email {

struct MailContent {
  std::string subject;
  std::string text;
  std::string html;
};

// Reads the payload of an "email" notification; invalid_argument when it is not
// {"subject": string, "text": string, "html": string}.
core::Result<MailContent> parse_mail_payload(std::string_view payload);

struct MimeMessage {
  std::string from;             // the From header as configured: "ops@x.org" or "Tocsin <ops@x.org>"
  std::vector<std::string> to;  // bare addresses
  MailContent content;
  core::Timestamp date{};
  std::string message_id;  // without the angle brackets, e.g. "tocsin.12.1796402400000@x.org"
  std::string boundary;    // must start with "=_" so it can never occur in base64 text
};

// The whole message, CRLF line endings, ready for SMTP DATA.
std::string build_message(const MimeMessage& m);

// "Subject: …" value: the text with control characters turned into spaces; as it is when it is
// printable ASCII (folded at spaces beyond 78 columns), else as RFC 2047 "B" encoded-words of
// UTF-8 (each at most 75 characters, never splitting a character), one per folded line.
std::string encode_subject(std::string_view subject);

// RFC 5322 date-time in UTC: "Mon, 02 Mar 2026 08:00:00 +0000".
std::string rfc5322_date(core::Timestamp t);

// Splits a notification's address ("a@x.org, b@y.org") into bare addresses. invalid_argument
// for an empty list, or an address without '@' or with spaces, control characters, '<', '>'
// or ','.
core::Result<std::vector<std::string>> parse_recipients(std::string_view address);

// The bare address of a From value: "Tocsin <ops@x.org>" -> "ops@x.org"; "ops@x.org" as it is.
std::string bare_address(std::string_view from);

}  // namespace tocsin::notify::email
