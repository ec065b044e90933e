#include "alerting/silences.h"

#include <gtest/gtest.h>

#include "alerting/test_util.h"

namespace tocsin::alerting {
namespace {

using testing::kT0;
using std::chrono::hours;
using std::chrono::minutes;

store::Silence silence(std::vector<std::string> matchers, core::Timestamp starts, core::Timestamp ends) {
  store::Silence s;
  for (const auto& m : matchers) s.matchers.push_back(core::Matcher::parse(m).value());
  s.starts_at = starts;
  s.ends_at = ends;
  s.created_by = "alice";
  s.comment = "maintenance";
  return s;
}

TEST(Silences, AnActiveSilenceMutesMatchingAlertsOnlyWhileItRuns) {
  Silences silences;
  auto change = silences.plan_set(silence({R"(service="api")"}, kT0, kT0 + hours(1)), kT0);
  ASSERT_TRUE(change.has_value()) << change.error().to_string();
  silences.apply(*change);
  EXPECT_EQ(silences.muted_by({{"service", "api"}, {"a", "b"}}, kT0 + minutes(1)), std::vector<std::string>{change->id});
  EXPECT_TRUE(silences.muted_by({{"service", "web"}}, kT0 + minutes(1)).empty());
  EXPECT_TRUE(silences.muted_by({{"service", "api"}}, kT0 + hours(1)).empty());
  EXPECT_EQ(silences.next_change(kT0 + minutes(1)), kT0 + hours(1));
}

TEST(Silences, IdsAreVersion4Uuids) {
  const std::string id = Silences::new_id();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(Silences::new_id(), id);
}

TEST(Silences, BadSilencesAreRefusedWithAlertmanagersWords) {
  Silences silences;
  auto no_matchers = silences.plan_set(silence({}, kT0, kT0 + hours(1)), kT0);
  ASSERT_FALSE(no_matchers);
  EXPECT_EQ(no_matchers.error().message(), "at least one matcher required");
  auto matches_empty = silences.plan_set(silence({R"(a=~".*")"}, kT0, kT0 + hours(1)), kT0);
  ASSERT_FALSE(matches_empty);
  EXPECT_EQ(matches_empty.error().message(), "at least one matcher must not match the empty string");
  auto backwards = silences.plan_set(silence({R"(a="b")"}, kT0, kT0 - hours(1)), kT0);
  ASSERT_FALSE(backwards);
  EXPECT_EQ(backwards.error().message(), "end time must not be before start time");
  auto unknown = silence({R"(a="b")"}, kT0, kT0 + hours(1));
  unknown.id = "nope";
  auto missing = silences.plan_set(unknown, kT0);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kNotFound);
  EXPECT_TRUE(silences.list().empty());
}

TEST(Silences, AnActiveSilenceIsUpdatedInPlaceWhenOnlyItsEndMoves) {
  Silences silences;
  auto created = silences.plan_set(silence({R"(a="b")"}, kT0, kT0 + hours(1)), kT0).value();
  silences.apply(created);
  auto longer = silence({R"(a="b")"}, kT0, kT0 + hours(2));
  longer.id = created.id;
  auto updated = silences.plan_set(longer, kT0 + minutes(5)).value();
  EXPECT_EQ(updated.id, created.id);
  ASSERT_EQ(updated.to_write.size(), 1u);
  silences.apply(updated);
  EXPECT_EQ(silences.get(created.id)->ends_at, kT0 + hours(2));
}

TEST(Silences, ChangingMatchersExpiresTheOldSilenceAndCreatesANewOne) {
  Silences silences;
  auto created = silences.plan_set(silence({R"(a="b")"}, kT0, kT0 + hours(1)), kT0).value();
  silences.apply(created);
  auto changed = silence({R"(a="c")"}, kT0, kT0 + hours(1));
  changed.id = created.id;
  auto replaced = silences.plan_set(changed, kT0 + minutes(5)).value();
  EXPECT_NE(replaced.id, created.id);
  ASSERT_EQ(replaced.to_write.size(), 2u);
  silences.apply(replaced);
  EXPECT_EQ(state_of(*silences.get(created.id), kT0 + minutes(5)), SilenceState::kExpired);
  EXPECT_EQ(state_of(*silences.get(replaced.id), kT0 + minutes(5)), SilenceState::kActive);
  EXPECT_EQ(silences.get(replaced.id)->starts_at, kT0 + minutes(5));  // a start in the past moves to now
}

TEST(Silences, ExpiringEndsAnActiveSilenceAndCancelsAPendingOne) {
  Silences silences;
  auto active = silences.plan_set(silence({R"(a="b")"}, kT0, kT0 + hours(1)), kT0).value();
  auto pending = silences.plan_set(silence({R"(a="c")"}, kT0 + hours(2), kT0 + hours(3)), kT0).value();
  silences.apply(active);
  silences.apply(pending);
  EXPECT_EQ(state_of(*silences.get(pending.id), kT0), SilenceState::kPending);
  silences.apply(silences.plan_expire(active.id, kT0 + minutes(1)).value());
  silences.apply(silences.plan_expire(pending.id, kT0 + minutes(1)).value());
  EXPECT_EQ(silences.get(active.id)->ends_at, kT0 + minutes(1));
  EXPECT_EQ(silences.get(pending.id)->starts_at, kT0 + minutes(1));
  EXPECT_TRUE(silences.muted_by({{"a", "b"}}, kT0 + minutes(2)).empty());
  auto again = silences.plan_expire(active.id, kT0 + minutes(2));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "silence " + active.id + " already expired");
  silences.forget_expired(kT0 + minutes(2));
  EXPECT_TRUE(silences.list().empty());
}

}  // namespace
}  // namespace tocsin::alerting
