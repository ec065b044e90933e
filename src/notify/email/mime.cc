#include "notify/email/mime.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "notify/crypto.h"

namespace tocsin::notify::email {
namespace {

constexpr size_t kFoldAt = 78;
// UTF-8 bytes per encoded-word: 39 bytes -> 52 base64 characters -> a 64-character word, so
// "Subject: " and the word fit in 78 columns.
constexpr size_t kWordBytes = 39;
// Subjects are cut to this many bytes: a header line may not exceed 998 characters, and no
// mail client shows more.
constexpr size_t kMaxSubjectBytes = 400;

bool is_printable_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// Control characters (CR and LF above all: header injection) become spaces.
std::string without_controls(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

// Folds an ASCII header value at spaces so that no line (with `used` columns before the value on
// the first) exceeds kFoldAt where a space allows it.
std::string fold(std::string_view value, size_t used) {
  std::string out;
  size_t column = used;
  size_t i = 0;
  while (i < value.size()) {
    size_t next_space = value.find(' ', i + 1);
    if (next_space == std::string_view::npos) next_space = value.size();
    const std::string_view word = value.substr(i, next_space - i);  // starts with ' ' except the first
    if (column + word.size() > kFoldAt && !out.empty() && word.front() == ' ') {
      out += "\r\n";
      column = 0;
    }
    out += word;
    column += word.size();
    i = next_space;
  }
  return out;
}

// Text to CRLF line endings (the canonical form of text/* before base64).
std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

// base64 in lines of 76 characters (RFC 2045 §6.8).
std::string base64_lines(std::string_view bytes) {
  const std::string b64 = base64_encode(bytes);
  std::string out;
  out.reserve(b64.size() + b64.size() / 38 + 2);
  for (size_t i = 0; i < b64.size(); i += 76) {
    out.append(b64, i, 76);
    out += "\r\n";
  }
  return out;
}

}  // namespace

core::Result<MailContent> parse_mail_payload(std::string_view payload) {
  const auto doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  auto field = [&](const char* name) -> const nlohmann::json* {
    if (!doc.is_object()) return nullptr;
    auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? &*it : nullptr;
  };
  const auto* subject = field("subject");
  const auto* text = field("text");
  const auto* html = field("html");
  if (!subject || !text || !html) {
    return std::unexpected(core::Error::invalid_argument(
        "an email notification's payload must be a JSON object with string members subject, text and html"));
  }
  return MailContent{subject->get<std::string>(), text->get<std::string>(), html->get<std::string>()};
}

std::string encode_subject(std::string_view subject) {
  std::string clean = without_controls(subject);
  if (clean.size() > kMaxSubjectBytes) {
    size_t end = kMaxSubjectBytes;
    while (end > 0 && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
    clean.resize(end);
  }
  if (is_printable_ascii(clean)) return fold(clean, std::string_view("Subject: ").size());
  std::string out;
  size_t i = 0;
  while (i < clean.size()) {
    size_t end = std::min(clean.size(), i + kWordBytes);
    // Back up to a character boundary (a UTF-8 continuation byte is 10xxxxxx).
    while (end < clean.size() && end > i + 1 && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";  // whitespace between encoded-words is not part of the text
    out += fmt::format("=?UTF-8?B?{}?=", base64_encode(std::string_view(clean).substr(i, end - i)));
    i = end;
  }
  return out;
}

std::string rfc5322_date(core::Timestamp t) {
  using namespace std::chrono;
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd(day);
  const hh_mm_ss time(secs - day);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[weekday(day).c_encoding()],
                     static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                     static_cast<int>(ymd.year()), time.hours().count(), time.minutes().count(),
                     time.seconds().count());
}

core::Result<std::vector<std::string>> parse_recipients(std::string_view address) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= address.size()) {
    size_t comma = address.find(',', i);
    if (comma == std::string_view::npos) comma = address.size();
    std::string_view one = address.substr(i, comma - i);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) {
      const bool bad_char = one.find_first_of(" <>\"") != std::string_view::npos ||
                            std::any_of(one.begin(), one.end(), [](char c) {
                              const auto u = static_cast<unsigned char>(c);
                              return u < 0x20 || u == 0x7F;
                            });
      const size_t at = one.find('@');
      if (bad_char || at == std::string_view::npos || at == 0 || at + 1 == one.size()) {
        return std::unexpected(core::Error::invalid_argument(
            fmt::format("bad email address \"{}\": expected name@domain", without_controls(one))));
      }
      out.emplace_back(one);
    }
    i = comma + 1;
  }
  if (out.empty()) return std::unexpected(core::Error::invalid_argument("no email recipient"));
  return out;
}

std::string bare_address(std::string_view from) {
  const size_t open = from.rfind('<');
  const size_t close = from.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return std::string(from.substr(open + 1, close - open - 1));
  }
  return std::string(from);
}

std::string build_message(const MimeMessage& m) {
  std::string to;
  for (const auto& a : m.to) to += (to.empty() ? "" : ", ") + without_controls(a);
  std::string out;
  out += fmt::format("Date: {}\r\n", rfc5322_date(m.date));
  out += fmt::format("From: {}\r\n", without_controls(m.from));
  out += fmt::format("To: {}\r\n", fold(to, std::string_view("To: ").size()));
  out += fmt::format("Subject: {}\r\n", encode_subject(m.content.subject));
  out += fmt::format("Message-ID: <{}>\r\n", without_controls(m.message_id));
  out += "MIME-Version: 1.0\r\n";
  // RFC 3834: out-of-office robots should not answer a page.
  out += "Auto-Submitted: auto-generated\r\n";
  out += fmt::format("Content-Type: multipart/alternative; boundary=\"{}\"\r\n", m.boundary);
  out += "\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  auto part = [&](std::string_view type, std::string_view body) {
    out += fmt::format("\r\n--{}\r\n", m.boundary);
    out += fmt::format("Content-Type: {}; charset=utf-8\r\n", type);
    out += "Content-Transfer-Encoding: base64\r\n\r\n";
    out += base64_lines(crlf(body));
  };
  // Least preferred first (RFC 2046 §5.1.4): clients show the last part they can render.
  part("text/plain", m.content.text);
  part("text/html", m.content.html);
  out += fmt::format("\r\n--{}--\r\n", m.boundary);
  return out;
}

}  // namespace tocsin::notify::email
