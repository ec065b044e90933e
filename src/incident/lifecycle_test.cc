#include "incident/lifecycle.h"

#include <gtest/gtest.h>

#include <set>

namespace tocsin::incident {
namespace {

using S = store::IncidentStatus;

TEST(Lifecycle, TransitionTable) {
  const S all[] = {S::kTriggered, S::kAcknowledged, S::kMitigated, S::kResolved, S::kClosed};
  // Every pair, checked against the table written out by hand.
  const std::set<std::pair<S, S>> allowed{
      {S::kTriggered, S::kAcknowledged}, {S::kTriggered, S::kMitigated},   {S::kTriggered, S::kResolved},
      {S::kAcknowledged, S::kMitigated}, {S::kAcknowledged, S::kResolved}, {S::kMitigated, S::kResolved},
      {S::kResolved, S::kClosed},        {S::kResolved, S::kTriggered},    {S::kMitigated, S::kTriggered},
  };
  for (S from : all) {
    for (S to : all) {
      const bool ok = check_transition(from, to).has_value();
      EXPECT_EQ(ok, allowed.contains({from, to})) << store::to_string(from) << " -> " << store::to_string(to);
    }
  }
}

TEST(Lifecycle, ErrorsSayWhy) {
  EXPECT_EQ(check_transition(S::kAcknowledged, S::kAcknowledged).error().message(), "incident is already acknowledged");
  EXPECT_EQ(check_transition(S::kClosed, S::kAcknowledged).error().message(),
            "cannot move an incident from closed to acknowledged");
  EXPECT_EQ(check_transition(S::kClosed, S::kAcknowledged).error().code(), core::ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tocsin::incident
