// Tests of what the basic detectors share: typed parameters, the snapshot format, the score
// convention and registration.
#include <gtest/gtest.h>

#include <cmath>

#include "detect/basic_test_util.h"
#include "detect/deviation.h"
#include "detect/snapshot_codec.h"
#include "detect/param_reader.h"

namespace tocsin::detect {
namespace {

TEST(BasicDetectors, AllRegistered) {
  const auto kinds = DetectorRegistry::builtin().kinds();
  for (const char* kind : {"threshold", "sigma", "ewma", "mad", "absent"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), kind), kinds.end()) << kind;
  }
}

TEST(RatioScore, HalfAtTheBound) {
  EXPECT_EQ(ratio_score(0), 0);
  EXPECT_DOUBLE_EQ(ratio_score(1), 0.5);
  EXPECT_DOUBLE_EQ(ratio_score(2), 0.8);
  EXPECT_DOUBLE_EQ(ratio_score(3), 0.9);
  EXPECT_EQ(ratio_score(INFINITY), 1);
  EXPECT_EQ(ratio_score(NAN), 0);
}

TEST(ParamReader, ReadsEachType) {
  auto c = testing::make_config("x", {{"n", "2.5"}, {"k", "7"}, {"w", "90s"}, {"d", "up"}, {"b", "false"}});
  ParamReader p(c);
  EXPECT_EQ(*p.number("n"), 2.5);
  EXPECT_EQ(*p.integer("k", 1, 10), 7);
  EXPECT_EQ(*p.duration("w"), core::Duration(90000));
  EXPECT_EQ(*p.word("d", {"up", "down"}), "up");
  EXPECT_EQ(*p.boolean("b"), false);
  EXPECT_FALSE(p.number("missing")->has_value());
  EXPECT_TRUE(p.reject_unknown().has_value());
  const auto bad = p.integer("k", 1, 5);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().to_string(), "t.yaml:3: detector.k: 7 is out of range: expected 1 to 5");
}

TEST(SnapshotCodec, RoundTripAndRejections) {
  SnapshotWriter w("test", 3);
  w.u8(7);
  w.i64(-5);
  w.f64(0.1);
  const std::string bytes = std::move(w).finish();
  auto r = SnapshotReader::open(bytes, "test", 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->u8(), 7);
  EXPECT_EQ(r->i64(), -5);
  EXPECT_EQ(r->f64(), 0.1);
  EXPECT_TRUE(r->finish().has_value());
  EXPECT_FALSE(r->u8().has_value());
  EXPECT_FALSE(SnapshotReader::open(bytes, "othr", 3).has_value());
  const auto old = SnapshotReader::open(bytes, "test", 2);
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().message(), "detector snapshot rejected: version 3 (this build reads 2)");
  std::string flipped = bytes;
  flipped[7] = static_cast<char>(flipped[7] ^ 1);
  EXPECT_EQ(SnapshotReader::open(flipped, "test", 3).error().message(), "detector snapshot rejected: checksum mismatch");
  auto partial = SnapshotReader::open(bytes, "test", 3);
  partial->u8();
  EXPECT_FALSE(partial->finish().has_value());
}

}  // namespace
}  // namespace tocsin::detect
