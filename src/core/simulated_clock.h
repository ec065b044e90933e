// A Clock that moves only when advanced. advance_to(t) fires every timer due at or before t in
// (time, sequence) order, setting now() to each timer's time while its callback runs, then sets
// now() to t. Timers scheduled by callbacks for times <= t fire in the same call.
// Thread-safety: safe to call from several threads; callbacks run without the internal lock held.
#pragma once

#include <mutex>

#include "core/clock.h"

namespace tocsin::core {

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(Timestamp start = from_unix_ms(0)) : now_(start) {}

  Timestamp now() const override;
  MonoTime mono_now() const override;
  TimerId schedule_at(Timestamp at, TimerCallback fn) override;
  bool cancel(TimerId id) override;

  // Returns the number of timers fired. Moving backwards is ignored (time never goes back).
  int advance_to(Timestamp t);
  int advance(Duration d) { return advance_to(now() + d); }
  // Earliest pending timer, if any.
  std::optional<Timestamp> next_timer() const;

 private:
  mutable std::mutex mu_;
  Timestamp now_;
  TimerQueue queue_;
};

}  // namespace tocsin::core
