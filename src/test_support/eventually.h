// For tests only: waits for what another thread does (a delivery lane's send, its record).
// Thread-safety: none of its own; `pred` must be safe to call while that thread works.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace tocsin::test_support {

// Polls `pred` every 10 ms for up to 5 s; whether it held.
inline bool eventually(const std::function<bool()>& pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace tocsin::test_support
