// For the engine's tests only: advances a simulated clock to `t`, running the engine at every time
// it asks for on the way (and once at `t`), as the server's driver thread does in real time.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>

#include "core/simulated_clock.h"
#include "engine/engine.h"

namespace tocsin::engine {

inline void run_until(Engine& engine, core::SimulatedClock& clock, core::Timestamp t) {
  for (;;) {
    auto next = engine.run_due();
    ASSERT_TRUE(next.has_value()) << next.error().to_string();
    if (!*next || **next > t) break;
    clock.advance_to(std::max(**next, clock.now()));
  }
  clock.advance_to(t);
  ASSERT_TRUE(engine.run_due().has_value());
}

}  // namespace tocsin::engine
