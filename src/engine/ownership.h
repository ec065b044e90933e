// Which replica owns a series (docs/high-availability.md, "Detection across replicas"). Of the
// replicas sharing one PostgreSQL store, each series is evaluated by exactly one: its owner,
// chosen among the live members by rendezvous (highest random weight) hashing of the series'
// label fingerprint. Rendezvous hashing moves only what it must when membership changes: a member
// leaving hands over only its own series (spread over the others), a member joining takes about
// 1/(n+1) of everyone's.
//
// SeriesOwnership is an immutable snapshot of the membership: the live members sorted by id, this
// replica among them, and an epoch that grows with every change of the view (EngineLease makes a
// new one when the replicas it reads at a renewal differ from the last). A single member owns
// everything (the SQLite store, or a replica alone).
// Thread-safety: immutable; share it as std::shared_ptr<const SeriesOwnership>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin::engine {

// A live replica as the ownership view knows it: its id and where the others reach it (its
// advertise_url; POST {address}/api/v1/write).
struct Member {
  std::string id;
  std::string address;
  friend bool operator==(const Member&, const Member&) = default;
};

// A 64-bit finaliser (MurmurHash3's fmix64): every input bit affects every output bit.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// The per-member seed of the rendezvous weights: FNV-1a of the id, finalised.
uint64_t member_seed(std::string_view id);

class SeriesOwnership {
 public:
  // `members` in any order, ids unique; `self` is added when missing (a replica always counts
  // itself: its own heartbeat may be late).
  SeriesOwnership(std::string self, std::vector<Member> members, uint64_t epoch = 0);
  // Everything local: one member, this replica (epoch 0).
  static std::shared_ptr<const SeriesOwnership> local(std::string self, std::string address = {});

  // The index in members() of the owner of the series (or other key) with this 64-bit hash.
  // Allocates nothing; O(members).
  size_t owner_index(uint64_t fingerprint) const {
    size_t best = 0;
    uint64_t best_weight = 0;
    for (size_t i = 0; i < seeds_.size(); ++i) {
      const uint64_t weight = mix64(fingerprint ^ seeds_[i]);
      if (i == 0 || weight > best_weight) {
        best = i;
        best_weight = weight;
      }
    }
    return best;
  }
  const Member& owner_of(uint64_t fingerprint) const { return members_[owner_index(fingerprint)]; }
  bool is_local(uint64_t fingerprint) const { return members_.size() == 1 || owner_index(fingerprint) == self_; }
  // More than one member: some series belong to another replica.
  bool partitioned() const { return members_.size() > 1; }

  const std::vector<Member>& members() const { return members_; }  // sorted by id
  size_t self_index() const { return self_; }
  const Member& self() const { return members_[self_]; }
  // Grows with every change of the view (0: the initial, local-only view).
  uint64_t epoch() const { return epoch_; }

 private:
  std::vector<Member> members_;
  std::vector<uint64_t> seeds_;  // member_seed of each member's id
  size_t self_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace tocsin::engine
