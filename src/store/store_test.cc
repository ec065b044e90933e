#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tocsin::store {
namespace {

using ::testing::HasSubstr;

TEST(StoreNames, AlertStatesRoundTrip) {
  for (auto s : {AlertState::kPending, AlertState::kFiring, AlertState::kResolved}) {
    auto parsed = parse_alert_state(to_string(s));
    ASSERT_TRUE(parsed.has_value()) << to_string(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(to_string(AlertState::kFiring), "firing");
}

TEST(StoreNames, IncidentStatusesRoundTrip) {
  for (auto s : {IncidentStatus::kTriggered, IncidentStatus::kAcknowledged, IncidentStatus::kMitigated,
                 IncidentStatus::kResolved, IncidentStatus::kClosed}) {
    auto parsed = parse_incident_status(to_string(s));
    ASSERT_TRUE(parsed.has_value()) << to_string(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(to_string(IncidentStatus::kAcknowledged), "acknowledged");
}

TEST(StoreNames, TaskStatusesRoundTrip) {
  for (auto s : {TaskStatus::kOpen, TaskStatus::kDone, TaskStatus::kSkipped}) {
    auto parsed = parse_task_status(to_string(s));
    ASSERT_TRUE(parsed.has_value()) << to_string(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(to_string(TaskStatus::kSkipped), "skipped");
}

TEST(StoreNames, NotificationStatusesRoundTrip) {
  for (auto s : {NotificationStatus::kPending, NotificationStatus::kSent, NotificationStatus::kFailed}) {
    auto parsed = parse_notification_status(to_string(s));
    ASSERT_TRUE(parsed.has_value()) << to_string(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(to_string(NotificationStatus::kSent), "sent");
}

TEST(StoreNames, ParseErrorNamesTheValueAndTheChoices) {
  auto bad = parse_incident_status("Triggered");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message(), HasSubstr("\"Triggered\""));
  EXPECT_THAT(bad.error().message(), HasSubstr("triggered, acknowledged, mitigated, resolved, closed"));

  EXPECT_FALSE(parse_alert_state("").has_value());
  EXPECT_FALSE(parse_task_status("closed").has_value());
  auto n = parse_notification_status("retrying");
  ASSERT_FALSE(n.has_value());
  EXPECT_THAT(n.error().message(), HasSubstr("pending, sent, failed"));
}

}  // namespace
}  // namespace tocsin::store
