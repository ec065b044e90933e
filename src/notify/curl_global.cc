#include "notify/curl_global.h"

#include <curl/curl.h>

namespace tocsin::notify {

bool ensure_curl_global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  return done;
}

}  // namespace tocsin::notify
