// FlatU64Map: a hash map from uint64_t keys (label fingerprints, series refs) to small values,
// with open addressing and linear probing in one array.
//
// Why not std::unordered_map: ingestion looks series up by fingerprint once per series and
// request, over tens of thousands of series that are not in the CPU caches. A node-based map
// costs a bucket load, a node load and (libstdc++ points buckets at the node *before*) often a
// third miss, plus a 64-bit division for the prime modulus; here a lookup is one multiply and
// usually one cache line.
//
// Keys are mixed with a Fibonacci multiply, so sequential refs spread as well as hashes do. The
// table doubles at half full; erase uses backward-shift deletion (no tombstones), so lookups
// never slow down with churn. Any insert or erase may move values: do not keep pointers to
// them across one. Values must be default-constructible and movable.
// Thread-safety: none; the owner serialises access.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tocsin::core {

template <class V>
class FlatU64Map {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  V* find(uint64_t key) {
    if (size_ == 0) return nullptr;
    for (size_t i = home(key);; i = next(i)) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }
  const V* find(uint64_t key) const { return const_cast<FlatU64Map*>(this)->find(key); }
  // Starts loading the slot where `key` would be: for a batch of lookups, call it for all keys
  // first, so their cache misses overlap.
  void prefetch(uint64_t key) const {
    if (size_ != 0) __builtin_prefetch(&slots_[home(key)]);
  }

  // The value of `key`, default-constructed if it was absent; `second` is true when inserted.
  std::pair<V*, bool> try_emplace(uint64_t key) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    size_t i = home(key);
    for (;; i = next(i)) {
      Slot& s = slots_[i];
      if (!s.used) break;
      if (s.key == key) return {&s.value, false};
    }
    Slot& s = slots_[i];
    s.used = true;
    s.key = key;
    s.value = V{};
    ++size_;
    return {&s.value, true};
  }

  bool erase(uint64_t key) {
    if (size_ == 0) return false;
    for (size_t i = home(key);; i = next(i)) {
      if (!slots_[i].used) return false;
      if (slots_[i].key == key) {
        erase_at(i);
        return true;
      }
    }
  }

  // Erases every entry for which pred(key, value) is true.
  template <class Pred>
  void erase_if(Pred pred) {
    // Why one pass suffices: an erase shifts later entries of the run back into the hole; those
    // land at or after `i`, which is examined again, except entries that wrap around from the
    // start of the array, which were examined already (`pred` must give the same answer twice).
    for (size_t i = 0; i < slots_.size();) {
      if (slots_[i].used && pred(slots_[i].key, slots_[i].value)) {
        erase_at(i);
      } else {
        ++i;
      }
    }
  }

  template <class F>
  void for_each(F f) const {
    for (const Slot& s : slots_) {
      if (s.used) f(s.key, s.value);
    }
  }

  void clear() {
    slots_.clear();
    size_ = 0;
    shift_ = 64;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    V value{};
    bool used = false;
  };

  size_t home(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void erase_at(size_t hole) {
    slots_[hole].used = false;
    slots_[hole].value = V{};
    --size_;
    // Backward shift: move each following entry of the run into the hole if the hole lies on its
    // probe path (between its home and its slot, cyclically).
    for (size_t j = next(hole);; j = next(j)) {
      Slot& s = slots_[j];
      if (!s.used) return;
      const size_t h = home(s.key);
      const size_t dist_j = (j - h) & (slots_.size() - 1);
      const size_t dist_hole = (hole - h) & (slots_.size() - 1);
      if (dist_hole < dist_j) {
        slots_[hole] = std::move(s);
        s.used = false;
        s.value = V{};
        hole = j;
      }
    }
  }

  void grow() {
    const size_t capacity = slots_.empty() ? 16 : 2 * slots_.size();
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>(capacity);
    shift_ = 64 - std::countr_zero(capacity);
    size_ = 0;
    for (Slot& s : old) {
      if (!s.used) continue;
      size_t i = home(s.key);
      while (slots_[i].used) i = next(i);
      slots_[i] = std::move(s);
      ++size_;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace tocsin::core
