// The label index of the series store: for every label pair name=value, the sorted list of the
// series that carry it ("postings"), plus the list of all series. select() answers a list of
// matchers with the sorted ids of the series matching all of them.
//
// Series ids (SeriesRef) are handed out in increasing order and never reused, so adding a series
// appends to the end of each of its lists and the lists stay sorted without searching.
// Owned by SeriesStore, which serialises access. Thread-safety: none; the caller locks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/matcher.h"

namespace tocsin::tsdb {

// Identifies one series in one SeriesStore. Never reused: after gc() removes a series, its ref
// stays unknown to the store.
enum class SeriesRef : uint64_t {};

class PostingsIndex {
 public:
  // Precondition: `ref` is larger than every ref added before.
  void add(SeriesRef ref, const core::Labels& labels);
  // Removes the given series. `removed` is sorted by ref.
  void remove(std::span<const std::pair<SeriesRef, const core::Labels*>> removed);

  // Sorted ids of the series matching every matcher (no matchers: every series).
  // `labels_of` gives a live series' labels; it is used to filter a small candidate set directly
  // when that is cheaper than walking the postings of every value of a label.
  std::vector<SeriesRef> select(const std::vector<core::Matcher>& matchers,
                                const std::function<core::Labels(SeriesRef)>& labels_of) const;

  size_t series_count() const { return all_.size(); }
  // Distinct name=value pairs indexed (for stats and tests).
  size_t pair_count() const;

 private:
  using Values = std::map<std::string, std::vector<SeriesRef>, std::less<>>;
  const std::vector<SeriesRef>* postings(std::string_view name, std::string_view value) const;
  // Union of the postings of the values of `name` for which matches(value) == want.
  std::vector<SeriesRef> union_where(const core::Matcher& m, bool want) const;

  std::map<std::string, Values, std::less<>> index_;
  std::vector<SeriesRef> all_;
};

}  // namespace tocsin::tsdb
