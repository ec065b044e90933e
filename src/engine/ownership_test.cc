#include "engine/ownership.h"

#include <gtest/gtest.h>

#include <array>

namespace tocsin::engine {
namespace {

constexpr int kKeys = 30'000;

// Fingerprints spread like real ones: the finaliser of a counter (its own seed, so the test does
// not just replay member_seed's arithmetic).
uint64_t key(int i) { return mix64(0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1)); }

std::vector<Member> members(std::initializer_list<const char*> ids) {
  std::vector<Member> out;
  for (const char* id : ids) out.push_back({id, std::string("http://") + id});
  return out;
}

TEST(SeriesOwnership, OneMemberOwnsEverything) {
  auto local = SeriesOwnership::local("solo");
  EXPECT_FALSE(local->partitioned());
  EXPECT_EQ(local->epoch(), 0u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(local->is_local(key(i)));
    EXPECT_EQ(local->owner_of(key(i)).id, "solo");
  }
}

TEST(SeriesOwnership, MembersSortedSelfAddedDuplicatesDropped) {
  SeriesOwnership view("b", {{"c", "http://c"}, {"a", "http://a"}, {"c", "http://c"}}, 7);
  ASSERT_EQ(view.members().size(), 3u);
  EXPECT_EQ(view.members()[0].id, "a");
  EXPECT_EQ(view.members()[1].id, "b");
  EXPECT_EQ(view.members()[2].id, "c");
  EXPECT_EQ(view.self().id, "b");
  EXPECT_EQ(view.self_index(), 1u);
  EXPECT_EQ(view.epoch(), 7u);
  EXPECT_TRUE(view.partitioned());
}

TEST(SeriesOwnership, DeterministicAndTheSameFromEveryMember) {
  // Every replica must compute the same owner: the view depends on the members, not on who asks
  // or the order they were listed in.
  SeriesOwnership from_a("a", members({"a", "b", "c"}));
  SeriesOwnership from_c("c", members({"c", "a", "b"}));
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(from_a.owner_of(key(i)).id, from_c.owner_of(key(i)).id) << i;
    EXPECT_EQ(from_a.is_local(key(i)), from_a.owner_of(key(i)).id == "a");
  }
  // Fixed values: the hash is part of the wire contract between replicas of one version.
  EXPECT_EQ(member_seed("a"), member_seed("a"));
  EXPECT_NE(member_seed("a"), member_seed("b"));
}

TEST(SeriesOwnership, ThreeMembersOwnAboutAThirdEach) {
  SeriesOwnership view("a", members({"a", "b", "c"}));
  std::array<int, 3> owned{};
  for (int i = 0; i < kKeys; ++i) ++owned[view.owner_index(key(i))];
  // A fair split is 10,000 each; the binomial standard deviation is ~82, and the hash is
  // deterministic, so the tolerance (±5 %, 500) is about 6 sigma and the result never changes.
  for (int n : owned) EXPECT_NEAR(n, kKeys / 3, 500) << owned[0] << " " << owned[1] << " " << owned[2];
}

TEST(SeriesOwnership, RemovingAMemberMovesOnlyItsSeries) {
  SeriesOwnership three("a", members({"a", "b", "c"}));
  SeriesOwnership two("a", members({"a", "c"}));
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string before = three.owner_of(key(i)).id;
    const std::string after = two.owner_of(key(i)).id;
    if (before != "b") {
      ASSERT_EQ(before, after) << "series " << i << " moved although its owner stayed";
    } else {
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 3, 500);
}

TEST(SeriesOwnership, AddingAMemberMovesAboutOneInNPlusOne) {
  SeriesOwnership three("a", members({"a", "b", "c"}));
  SeriesOwnership four("a", members({"a", "b", "c", "d"}));
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string before = three.owner_of(key(i)).id;
    const std::string after = four.owner_of(key(i)).id;
    if (before != after) {
      ASSERT_EQ(after, "d") << "series " << i << " moved between two old members";
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 4, 500);  // 7,500 expected
}

}  // namespace
}  // namespace tocsin::engine
