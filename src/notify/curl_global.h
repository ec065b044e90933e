// libcurl's process-wide initialisation, shared by the senders that use it. curl_global_init is
// not thread-safe; call this before creating any curl handle (it runs the init once).
// Thread-safety: safe to call from any thread (a function-local static).
#pragma once

namespace tocsin::notify {

// Returns whether libcurl initialised.
bool ensure_curl_global_init();

}  // namespace tocsin::notify
