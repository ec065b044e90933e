#include "web/ui_route.h"

#include <algorithm>
#include <string>

namespace tocsin::web {

const Asset* find_asset(std::string_view name) {
  auto all = assets();
  auto it =
      std::lower_bound(all.begin(), all.end(), name, [](const Asset& a, std::string_view n) { return a.name < n; });
  return it != all.end() && it->name == name ? &*it : nullptr;
}

namespace {

// The UI talks only to this origin: scripts, styles, images (the API's SVG charts) and the
// postmortem draft's frame all come from it.
constexpr std::string_view kCsp =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// Whether an If-None-Match header names `etag` (a list, a weak validator, or "*").
bool etag_matches(std::string_view header, std::string_view etag) {
  if (header.empty()) return false;
  if (header.find('*') != std::string_view::npos) return true;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view item = header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<http::Response> serve_ui(const http::Request& request) {
  std::string_view name;
  if (request.path == "/" || request.path == "/index.html") {
    name = "index.html";
  } else if (request.path.starts_with("/ui/")) {
    name = std::string_view(request.path).substr(4);
  } else {
    return std::nullopt;
  }
  if (request.method != "GET") return http::Response::error(405, "use GET");
  const Asset* asset = find_asset(name);
  if (asset == nullptr) return http::Response::error(404, "no such file in the web UI: " + std::string(name), "path");
  http::Response r;
  r.content_type = std::string(asset->content_type);
  r.headers = {{"ETag", std::string(asset->etag)},
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Content-Security-Policy", std::string(kCsp)}};
  // A 304 keeps the body: the server announces its length and sends none (http/server.cc).
  r.status = etag_matches(request.header("if-none-match"), asset->etag) ? 304 : 200;
  r.body = std::string(asset->body);
  return r;
}

}  // namespace tocsin::web
