#include "tsdb/postings.h"

#include <algorithm>
#include <iterator>
#include <set>

namespace tocsin::tsdb {
namespace {

std::vector<SeriesRef> intersect(const std::vector<SeriesRef>& a, const std::vector<SeriesRef>& b) {
  std::vector<SeriesRef> out;
  out.reserve(std::min(a.size(), b.size()));
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<SeriesRef> difference(const std::vector<SeriesRef>& a, const std::vector<SeriesRef>& b) {
  std::vector<SeriesRef> out;
  out.reserve(a.size());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

void PostingsIndex::add(SeriesRef ref, const core::Labels& labels) {
  for (const auto& l : labels) {
    auto name_it = index_.find(l.name);
    if (name_it == index_.end()) name_it = index_.emplace(l.name, Values{}).first;
    auto value_it = name_it->second.find(l.value);
    if (value_it == name_it->second.end()) value_it = name_it->second.emplace(l.value, std::vector<SeriesRef>{}).first;
    value_it->second.push_back(ref);
  }
  all_.push_back(ref);
}

void PostingsIndex::remove(std::span<const std::pair<SeriesRef, const core::Labels*>> removed) {
  if (removed.empty()) return;
  std::vector<SeriesRef> refs;
  refs.reserve(removed.size());
  // Why batch: erasing one ref at a time from a long list (job="node") is quadratic when gc drops
  // many series at once; one pass per touched list with a binary search is not.
  std::set<std::pair<std::string_view, std::string_view>> touched;
  for (const auto& [ref, labels] : removed) {
    refs.push_back(ref);
    for (const auto& l : *labels) touched.emplace(l.name, l.value);
  }
  auto dead = [&refs](SeriesRef r) { return std::binary_search(refs.begin(), refs.end(), r); };
  for (const auto& [name, value] : touched) {
    auto name_it = index_.find(name);
    if (name_it == index_.end()) continue;
    auto value_it = name_it->second.find(value);
    if (value_it == name_it->second.end()) continue;
    std::erase_if(value_it->second, dead);
    if (value_it->second.empty()) name_it->second.erase(value_it);
    if (name_it->second.empty()) index_.erase(name_it);
  }
  std::erase_if(all_, dead);
}

size_t PostingsIndex::pair_count() const {
  size_t n = 0;
  for (const auto& [name, values] : index_) n += values.size();
  return n;
}

const std::vector<SeriesRef>* PostingsIndex::postings(std::string_view name, std::string_view value) const {
  auto name_it = index_.find(name);
  if (name_it == index_.end()) return nullptr;
  auto value_it = name_it->second.find(value);
  return value_it == name_it->second.end() ? nullptr : &value_it->second;
}

std::vector<SeriesRef> PostingsIndex::union_where(const core::Matcher& m, bool want) const {
  std::vector<SeriesRef> out;
  auto name_it = index_.find(m.name());
  if (name_it == index_.end()) return out;
  size_t lists = 0;
  for (const auto& [value, refs] : name_it->second) {
    if (m.matches(value) != want) continue;
    out.insert(out.end(), refs.begin(), refs.end());
    ++lists;
  }
  // A series has one value per name, so the lists are disjoint: sorting is the whole merge.
  if (lists > 1) std::sort(out.begin(), out.end());
  return out;
}

std::vector<SeriesRef> PostingsIndex::select(const std::vector<core::Matcher>& matchers,
                                             const std::function<core::Labels(SeriesRef)>& labels_of) const {
  // Equality matchers on a non-empty value first: a direct lookup each, intersected smallest first.
  std::vector<const std::vector<SeriesRef>*> equal;
  std::vector<const core::Matcher*> rest;
  for (const auto& m : matchers) {
    if (m.op() == core::MatchOp::kEqual && !m.value().empty()) {
      const auto* p = postings(m.name(), m.value());
      if (p == nullptr) return {};
      equal.push_back(p);
    } else {
      rest.push_back(&m);
    }
  }
  std::vector<SeriesRef> result;
  bool have = false;
  if (!equal.empty()) {
    std::sort(equal.begin(), equal.end(), [](auto* a, auto* b) { return a->size() < b->size(); });
    result = *equal.front();
    for (size_t i = 1; i < equal.size() && !result.empty(); ++i) result = intersect(result, *equal[i]);
    have = true;
  }
  // Then matchers that need a value to be present (=~ "a.+"), so that those matching the empty
  // string (!=, !~, ="") subtract from a set rather than from every series.
  std::stable_partition(rest.begin(), rest.end(), [](const core::Matcher* m) { return !m->matches(""); });
  for (const auto* m : rest) {
    if (have && result.empty()) return result;
    const auto name_it = index_.find(m->name());
    const size_t values = name_it == index_.end() ? 0 : name_it->second.size();
    // Why filter directly: checking k candidates costs k matches; walking the postings costs one
    // match per distinct value plus a merge. Whichever touches less wins.
    if (have && result.size() <= values) {
      std::erase_if(result, [&](SeriesRef r) { return !m->matches(labels_of(r)); });
      continue;
    }
    if (!m->matches("")) {
      auto matching = union_where(*m, true);
      result = have ? intersect(result, matching) : std::move(matching);
    } else {
      // Matches a missing label: everything except the series whose value does not match.
      result = difference(have ? result : all_, union_where(*m, false));
    }
    have = true;
  }
  if (!have) result = all_;
  return result;
}

}  // namespace tocsin::tsdb
