#include "tsdb/postings.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace tocsin::tsdb {
namespace {

core::Matcher matcher(std::string name, core::MatchOp op, std::string value) {
  auto m = core::Matcher::create(std::move(name), op, std::move(value));
  EXPECT_TRUE(m.has_value());
  return *m;
}

class PostingsTest : public ::testing::Test {
 protected:
  void add(uint64_t id, core::Labels labels) {
    labels_[SeriesRef{id}] = std::move(labels);
    index_.add(SeriesRef{id}, labels_[SeriesRef{id}]);
  }
  std::vector<SeriesRef> select(const std::vector<core::Matcher>& ms) const {
    return index_.select(ms, [this](SeriesRef r) -> const core::Labels& { return labels_.at(r); });
  }
  std::vector<SeriesRef> brute_force(const std::vector<core::Matcher>& ms) const {
    std::vector<SeriesRef> out;
    for (const auto& [ref, labels] : labels_) {
      if (core::matches_all(ms, labels)) out.push_back(ref);
    }
    return out;  // std::map: already sorted
  }

  std::map<SeriesRef, core::Labels> labels_;
  PostingsIndex index_;
};

TEST_F(PostingsTest, EachMatcherTypeAgainstBruteForceOnRandomLabelSets) {
  std::mt19937_64 rng(1234);
  const std::vector<std::string> names = {"__name__", "job", "instance", "mode", "cpu"};
  auto pick = [&](int n) { return std::to_string(rng() % static_cast<uint64_t>(n)); };
  for (uint64_t id = 1; id <= 600; ++id) {
    core::Labels l;
    l.set("__name__", rng() % 2 ? "node_cpu_seconds_total" : "up");
    if (rng() % 4) l.set("job", "job" + pick(3));
    l.set("instance", "host" + pick(50));
    if (rng() % 3 == 0) l.set("mode", rng() % 2 ? "idle" : "user");
    if (rng() % 2) l.set("cpu", pick(8));
    add(id, std::move(l));
  }
  const std::vector<core::MatchOp> ops = {core::MatchOp::kEqual, core::MatchOp::kNotEqual, core::MatchOp::kRegex,
                                          core::MatchOp::kNotRegex};
  const std::vector<std::string> values = {"",     "up",    "node_cpu_seconds_total",
                                           "job1", "host7", "idle",
                                           "3",    "job.*", "host(1|2).*",
                                           ".*",   ".+",    "user|",
                                           "nope", "h.st4", "0|1|2"};
  int checked = 0;
  int non_trivial = 0;
  for (int round = 0; round < 1000; ++round) {
    std::vector<core::Matcher> ms;
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) {
      ms.push_back(matcher(names[rng() % names.size()], ops[rng() % ops.size()], values[rng() % values.size()]));
    }
    const auto want = brute_force(ms);
    ASSERT_EQ(select(ms), want) << "round " << round << " first matcher " << ms[0].to_string();
    ++checked;
    if (!want.empty() && want.size() < labels_.size()) ++non_trivial;
  }
  EXPECT_EQ(checked, 1000);
  EXPECT_GT(non_trivial, 150);  // the random matchers do select proper subsets
}

TEST_F(PostingsTest, NoMatchersSelectEverythingAndUnknownPairsNothing) {
  add(1, {{"__name__", "a"}});
  add(2, {{"__name__", "b"}, {"x", "1"}});
  EXPECT_EQ(select({}), (std::vector<SeriesRef>{SeriesRef{1}, SeriesRef{2}}));
  EXPECT_TRUE(select({matcher("__name__", core::MatchOp::kEqual, "zzz")}).empty());
  EXPECT_EQ(select({matcher("x", core::MatchOp::kEqual, "")}), (std::vector<SeriesRef>{SeriesRef{1}}));
  EXPECT_EQ(select({matcher("x", core::MatchOp::kNotEqual, "")}), (std::vector<SeriesRef>{SeriesRef{2}}));
}

TEST_F(PostingsTest, RemoveUnindexesAndDropsEmptyPairs) {
  add(1, {{"__name__", "a"}, {"job", "x"}});
  add(2, {{"__name__", "a"}, {"job", "y"}});
  add(3, {{"__name__", "b"}, {"job", "y"}});
  EXPECT_EQ(index_.pair_count(), 4u);
  const std::vector<std::pair<SeriesRef, const core::Labels*>> removed = {{SeriesRef{1}, &labels_[SeriesRef{1}]},
                                                                          {SeriesRef{3}, &labels_[SeriesRef{3}]}};
  index_.remove(removed);
  labels_.erase(SeriesRef{1});
  labels_.erase(SeriesRef{3});
  EXPECT_EQ(index_.series_count(), 1u);
  EXPECT_EQ(index_.pair_count(), 2u);  // __name__=a, job=y
  EXPECT_EQ(select({matcher("job", core::MatchOp::kRegex, ".+")}), (std::vector<SeriesRef>{SeriesRef{2}}));
  EXPECT_TRUE(select({matcher("__name__", core::MatchOp::kEqual, "b")}).empty());
}

}  // namespace
}  // namespace tocsin::tsdb
