#include "notify/curl_global.h"

#include <curl/curl.h>

namespace tocsin::notify {

bool ensure_curl_global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  return done;
}

CurlHandles::~CurlHandles() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

CurlHandles::Lease CurlHandles::take() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return Lease(*this, handle);
    }
  }
  return Lease(*this, ensure_curl_global_init() ? curl_easy_init() : nullptr);
}

CurlHandles::Lease::~Lease() {
  if (!handle_) return;
  std::lock_guard lock(owner_.mu_);
  owner_.idle_.push_back(handle_);
}

}  // namespace tocsin::notify
