// The web UI's files (ui/ in the checkout), embedded in the binary at build time by
// cmake/embed_assets.cmake: no files on disk, nothing fetched from the internet.
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace tocsin::web {

struct Asset {
  std::string_view name;          // file name under ui/, e.g. "app.js"
  std::string_view content_type;  // from the extension, e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted: "\"1f2e…\"" (first 16 hex digits of the SHA-256)
  std::string_view body;
};

// Every embedded file, sorted by name.
std::span<const Asset> assets();

}  // namespace tocsin::web
