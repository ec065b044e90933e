#include "detect/absent/absent.h"

#include <gtest/gtest.h>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::config_error;
using testing::make_spec;

TEST(Absent, FiresWhenNothingArrivesForAfter) {
  auto spec = make_spec("absent", {{"after", "5m"}});
  auto d = spec->make();
  EXPECT_FALSE(d->next_check().has_value());  // nothing to miss before the first sample
  EXPECT_FALSE(d->update(at_s(1000), 1).firing);
  ASSERT_TRUE(d->next_check().has_value());
  EXPECT_EQ(*d->next_check(), at_s(1300));
  const Decision early = d->check(at_s(1240));
  EXPECT_FALSE(early.firing);
  EXPECT_NEAR(early.score, 0.64 / 1.64, 1e-12);  // r = 4m/5m = 0.8; r²/(1+r²)
  const Decision due = d->check(at_s(1300));
  EXPECT_TRUE(due.firing);
  EXPECT_EQ(due.score, 1);
  EXPECT_FALSE(d->next_check().has_value());  // fired: nothing more to ask until a sample
  EXPECT_TRUE(d->check(at_s(1400)).firing);
  const Decision back = d->update(at_s(1500), 2);  // a sample clears it
  EXPECT_FALSE(back.firing);
  EXPECT_EQ(*d->next_check(), at_s(1800));
  EXPECT_FALSE(d->check(at_s(1799)).firing);
  EXPECT_EQ(spec->describe(), "no sample for 5m");
}

TEST(Absent, SnapshotRestore) {
  auto spec = make_spec("absent", {{"after", "1m"}});
  auto d = spec->make();
  d->update(at_s(10), 1);
  auto copy = testing::clone(*spec, *d);
  EXPECT_EQ(copy->next_check(), d->next_check());
  EXPECT_TRUE(copy->check(at_s(70)).firing);
  auto fired = testing::clone(*spec, *copy);
  EXPECT_FALSE(fired->next_check().has_value());
  auto empty = testing::clone(*spec, *spec->make());
  EXPECT_FALSE(empty->next_check().has_value());
  testing::expect_rejects_garbage(*spec, *d, at_s(20), 1);
  EXPECT_EQ(*d->next_check(), at_s(80));
}

TEST(Absent, BadParams) {
  EXPECT_EQ(config_error("absent", {}), "1: absent detector needs `after` (e.g. after: 5m)");
  EXPECT_EQ(config_error("absent", {{"after", "0s"}}), "2: expected a duration > 0");
  EXPECT_EQ(config_error("absent", {{"after", "300"}}), "2: expected a duration such as 30s, 5m or 1h, got \"300\"");
  EXPECT_EQ(config_error("absent", {{"after", "5m"}, {"for", "5m"}}),
            "3: unknown parameter for detector \"absent\": expected after");
}

}  // namespace
}  // namespace tocsin::detect
