#include "core/flat_u64_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace tocsin::core {
namespace {

TEST(FlatU64Map, InsertFindErase) {
  FlatU64Map<int> m;
  EXPECT_EQ(m.find(7), nullptr);
  EXPECT_FALSE(m.erase(7));
  auto [v, inserted] = m.try_emplace(7);
  EXPECT_TRUE(inserted);
  *v = 70;
  auto [again, inserted_again] = m.try_emplace(7);
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(*again, 70);
  *m.try_emplace(0).first = 1;  // key 0 is an ordinary key
  EXPECT_EQ(m.size(), 2u);
  ASSERT_NE(m.find(0), nullptr);
  EXPECT_EQ(*m.find(0), 1);
  EXPECT_TRUE(m.erase(7));
  EXPECT_EQ(m.find(7), nullptr);
  EXPECT_EQ(m.size(), 1u);
}

// Against std::map: random inserts, erases and erase_if over a small key space (long probe runs,
// many backward shifts, the wrap-around at the array's end) and over full 64-bit keys.
TEST(FlatU64Map, MatchesStdMapUnderRandomChurn) {
  for (const uint64_t key_space : {uint64_t{64}, uint64_t{5000}, uint64_t{0}}) {
    std::mt19937_64 rng(key_space + 1);
    FlatU64Map<uint64_t> m;
    std::map<uint64_t, uint64_t> ref;
    auto key = [&] { return key_space == 0 ? rng() : rng() % key_space; };
    for (int step = 0; step < 200'000; ++step) {
      const auto op = rng() % 100;
      if (op < 55) {
        const uint64_t k = key();
        auto [v, inserted] = m.try_emplace(k);
        auto [it, ref_inserted] = ref.try_emplace(k, 0);
        ASSERT_EQ(inserted, ref_inserted);
        *v = it->second = step;
      } else if (op < 95) {
        const uint64_t k = key();
        ASSERT_EQ(m.erase(k), ref.erase(k) == 1);
      } else if (op == 99) {
        const uint64_t mod = 2 + rng() % 5;
        m.erase_if([&](uint64_t k, uint64_t) { return k % mod == 0; });
        std::erase_if(ref, [&](const auto& e) { return e.first % mod == 0; });
      } else {
        const uint64_t k = key();
        const uint64_t* v = m.find(k);
        auto it = ref.find(k);
        ASSERT_EQ(v != nullptr, it != ref.end());
        if (v) {
          ASSERT_EQ(*v, it->second);
        }
      }
      ASSERT_EQ(m.size(), ref.size());
    }
    size_t seen = 0;
    m.for_each([&](uint64_t k, uint64_t v) {
      ++seen;
      ASSERT_TRUE(ref.contains(k));
      EXPECT_EQ(ref.at(k), v);
    });
    EXPECT_EQ(seen, ref.size());
    for (const auto& [k, v] : ref) {
      ASSERT_NE(m.find(k), nullptr);
      EXPECT_EQ(*m.find(k), v);
    }
  }
}

}  // namespace
}  // namespace tocsin::core
