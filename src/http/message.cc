// Request and Response helpers of http.h.
#include <string>
#include <utility>

#include "http/http.h"

namespace tocsin::http {

std::string Request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string{} : it->second;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::error(int status, std::string_view message, std::string_view field) {
  std::string body = "{\"error\":\"" + json_escape(message) + "\"";
  if (!field.empty()) body += ",\"field\":\"" + json_escape(field) + "\"";
  body += "}";
  return json(status, std::move(body));
}

}  // namespace tocsin::http
