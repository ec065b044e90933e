// Serves the web UI (docs/ui.md): GET / is ui/index.html, GET /ui/<file> any other embedded
// file. Each answer carries its ETag and Cache-Control: no-cache (the browser keeps the file and
// revalidates; a matching If-None-Match gets a bodiless 304), and the UI's security headers (a
// Content-Security-Policy allowing only this origin, no framing, no MIME sniffing, no referrer).
// The UI itself routes on the URL's fragment (#/incidents/12), so no other path is the UI's.
// Thread-safety: pure functions over immutable data.
#pragma once

#include <optional>
#include <string_view>

#include "http/http.h"
#include "web/assets.h"

namespace tocsin::web {

// The embedded file called `name`, or null.
const Asset* find_asset(std::string_view name);

// The response for a UI path (`/`, `/index.html`, `/ui/…`), or nullopt when `request.path` is not
// one (the API answers it). An unknown /ui/ file is a 404; a method other than GET a 405.
std::optional<http::Response> serve_ui(const http::Request& request);

}  // namespace tocsin::web
