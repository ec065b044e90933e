#include "notify/email/mime.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "notify/crypto.h"
#include "notify/payload.h"

namespace tocsin::notify::email {
namespace {

std::string decode_base64(std::string_view b64) {
  // base64 -> base64url without padding, then the url decoder.
  std::string url;
  for (char c : b64) {
    if (c == '+') url += '-';
    else if (c == '/') url += '_';
    else if (c == '=' || c == '\r' || c == '\n') continue;
    else url += c;
  }
  return base64url_decode(url).value();
}

// Decodes every RFC 2047 "B" word of a folded Subject value and concatenates them.
std::string decode_subject(std::string_view value) {
  std::string out;
  size_t i = 0;
  while ((i = value.find("=?UTF-8?B?", i)) != std::string_view::npos) {
    const size_t start = i + 10;
    const size_t end = value.find("?=", start);
    out += decode_base64(value.substr(start, end - start));
    i = end + 2;
  }
  return out;
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find("\r\n", i);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(i, end - i));
    i = end + 2;
  }
  return out;
}

TEST(Mime, AsciiSubjectIsKeptAndFolded) {
  EXPECT_EQ(encode_subject("[critical] Incident #4: disk full"), "[critical] Incident #4: disk full");
  const std::string long_subject(40, 'a');
  const std::string folded = encode_subject(long_subject + " " + long_subject + " end");
  EXPECT_EQ(folded, long_subject + "\r\n " + long_subject + " end");
}

TEST(Mime, NonAsciiSubjectIsRfc2047EncodedWithoutSplittingCharacters) {
  const std::string subject = "[critical] 数据库宕机 — Datenbank ausgefallen, Überlast auf h1 (ノード)";
  const std::string encoded = encode_subject(subject);
  for (const auto& line : lines(encoded)) {
    std::string_view word = line;
    if (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    EXPECT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << line;
    EXPECT_LE(word.size(), 75u) << "RFC 2047 §2: an encoded-word is at most 75 characters";
    // Each word decodes to whole UTF-8 characters (no word starts with a continuation byte).
    const std::string part = decode_subject(word);
    ASSERT_FALSE(part.empty());
    EXPECT_NE(static_cast<unsigned char>(part.front()) & 0xC0, 0x80) << line;
  }
  EXPECT_EQ(decode_subject(encoded), subject);
  EXPECT_GT(lines(encoded).size(), 1u);
}

TEST(Mime, NoHeaderInjection) {
  EXPECT_EQ(encode_subject("hi\r\nBcc: victim@example.com"), "hi  Bcc: victim@example.com");
  MimeMessage m;
  m.from = "tocsin@example.com\r\nBcc: x@y.z";
  m.to = {"a@example.com"};
  m.content = {"s", "t", "h"};
  m.message_id = "id@example.com";
  m.boundary = "=_b";
  const std::string msg = build_message(m);
  EXPECT_EQ(msg.find("\r\nBcc:"), std::string::npos);
}

TEST(Mime, Date) {
  EXPECT_EQ(rfc5322_date(core::parse_rfc3339("2026-03-02T08:04:05.250Z").value()), "Mon, 02 Mar 2026 08:04:05 +0000");
  EXPECT_EQ(rfc5322_date(core::parse_rfc3339("2026-12-31T23:59:59Z").value()), "Thu, 31 Dec 2026 23:59:59 +0000");
}

TEST(Mime, Recipients) {
  EXPECT_EQ(parse_recipients("a@x.org").value(), std::vector<std::string>{"a@x.org"});
  EXPECT_EQ(parse_recipients(" a@x.org, b@y.org ,").value(), (std::vector<std::string>{"a@x.org", "b@y.org"}));
  EXPECT_FALSE(parse_recipients("").has_value());
  EXPECT_FALSE(parse_recipients("nobody").has_value());
  EXPECT_FALSE(parse_recipients("a@x.org\r\nRCPT TO:<b@y.org>").has_value());
  EXPECT_FALSE(parse_recipients("Alice <a@x.org>").has_value());
  EXPECT_EQ(bare_address("Tocsin <ops@x.org>"), "ops@x.org");
  EXPECT_EQ(bare_address("ops@x.org"), "ops@x.org");
}

TEST(Mime, PayloadMustBeTheEmailShape) {
  EXPECT_TRUE(parse_mail_payload(R"({"subject":"s","text":"t","html":"h"})").has_value());
  EXPECT_FALSE(parse_mail_payload(R"({"text":"[critical] …"})").has_value());
  EXPECT_FALSE(parse_mail_payload("not json").has_value());
}

TEST(Mime, MultipartAlternativeWithTextThenHtml) {
  MimeMessage m;
  m.from = "Tocsin <tocsin@example.com>";
  m.to = {"alice@example.com", "bob@example.com"};
  m.content = {"Incident #1: Überlast", "line 1\nline 2\n", "<p>line 1</p>"};
  m.date = core::parse_rfc3339("2026-03-02T08:00:00Z").value();
  m.message_id = "tocsin.1.1772438400000@example.com";
  m.boundary = "=_tocsin_1";
  const std::string msg = build_message(m);
  const auto all = lines(msg);
  const std::vector<std::string> head(all.begin(), all.begin() + 9);
  EXPECT_EQ(head[0], "Date: Mon, 02 Mar 2026 08:00:00 +0000");
  EXPECT_EQ(head[1], "From: Tocsin <tocsin@example.com>");
  EXPECT_EQ(head[2], "To: alice@example.com, bob@example.com");
  EXPECT_TRUE(head[3].starts_with("Subject: =?UTF-8?B?")) << head[3];
  EXPECT_EQ(head[4], "Message-ID: <tocsin.1.1772438400000@example.com>");
  EXPECT_EQ(head[5], "MIME-Version: 1.0");
  EXPECT_EQ(head[7], "Content-Type: multipart/alternative; boundary=\"=_tocsin_1\"");
  // No bare LF anywhere: SMTP wants CRLF lines.
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  // The two parts, in order, each base64 of the CRLF form of its text.
  const size_t text_at = msg.find("--=_tocsin_1\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Transfer-Encoding: base64\r\n\r\n");
  const size_t html_at = msg.find("--=_tocsin_1\r\nContent-Type: text/html; charset=utf-8\r\n"
                                  "Content-Transfer-Encoding: base64\r\n\r\n");
  ASSERT_NE(text_at, std::string::npos);
  ASSERT_NE(html_at, std::string::npos);
  EXPECT_LT(text_at, html_at);
  EXPECT_TRUE(msg.ends_with("\r\n--=_tocsin_1--\r\n"));
  const size_t text_body = msg.find("\r\n\r\n", text_at) + 4;
  EXPECT_EQ(decode_base64(msg.substr(text_body, html_at - text_body)), "line 1\r\nline 2\r\n");
  const size_t html_body = msg.find("\r\n\r\n", html_at) + 4;
  const size_t html_end = msg.find("\r\n--=_tocsin_1--");
  EXPECT_EQ(decode_base64(msg.substr(html_body, html_end - html_body)), "<p>line 1</p>");
  for (const auto& line : all) EXPECT_LE(line.size(), 78u) << line;
}

TEST(Mime, EmailPageEscapesHtmlAndCarriesTheAckLinkInBothParts) {
  store::Incident inc;
  inc.id = 9;
  inc.title = "<script>alert(1)</script> & \"quotes\"";
  inc.plan = "system_crash";
  inc.severity = "critical";
  inc.alerts.push_back({1, core::Labels{{"alertname", "X<y>"}}, store::AlertState::kFiring, {}});
  PageContext page{inc, "schedule:ops", "bob", "http://t.example", 1, 1, ""};
  page.ack_url = "http://t.example/api/v1/ack/abc.def?x=1&y=2";
  const auto mail = nlohmann::json::parse(email_page(page));
  EXPECT_EQ(mail["subject"], "[critical] Incident #9: <script>alert(1)</script> & \"quotes\"");
  const std::string html = mail["html"];
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"), std::string::npos);
  EXPECT_NE(html.find("X&lt;y&gt;"), std::string::npos);
  EXPECT_NE(html.find("href=\"http://t.example/api/v1/ack/abc.def?x=1&amp;y=2\""), std::string::npos) << html;
  const std::string text = mail["text"];
  EXPECT_NE(text.find("Acknowledge: http://t.example/api/v1/ack/abc.def?x=1&y=2"), std::string::npos) << text;
  EXPECT_NE(text.find("Open in tocsin: http://t.example/#/incidents/9"), std::string::npos) << text;
  EXPECT_NE(text.find("Paged: bob (schedule:ops), escalation level 1, pass 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace tocsin::notify::email
