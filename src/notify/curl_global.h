// libcurl's process-wide initialisation, shared by the senders that use it. curl_global_init is
// not thread-safe; call this before creating any curl handle (it runs the init once).
// Thread-safety: safe to call from any thread (a function-local static).
#pragma once

#include <mutex>
#include <vector>

namespace tocsin::notify {

// Returns whether libcurl initialised.
bool ensure_curl_global_init();

// Easy handles for one sender, so that sends on several delivery lanes can run at once (a handle
// is used by one thread at a time) while a handle, and the connections it keeps alive, is reused.
// Thread-safety: take() and the leases it returns may be used from any thread.
class CurlHandles {
 public:
  CurlHandles() = default;
  ~CurlHandles();
  CurlHandles(const CurlHandles&) = delete;
  CurlHandles& operator=(const CurlHandles&) = delete;

  class Lease {
   public:
    Lease(CurlHandles& owner, void* handle) : owner_(owner), handle_(handle) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    void* get() const { return handle_; }  // CURL*; null when libcurl could not make one

   private:
    CurlHandles& owner_;
    void* handle_;
  };
  // An idle handle, or a new one.
  Lease take();

 private:
  std::mutex mu_;
  std::vector<void*> idle_;
};

}  // namespace tocsin::notify
