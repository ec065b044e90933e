#include "engine/ownership.h"

#include <algorithm>

namespace tocsin::engine {

uint64_t member_seed(std::string_view id) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64-bit
  for (unsigned char c : id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

SeriesOwnership::SeriesOwnership(std::string self, std::vector<Member> members, uint64_t epoch)
    : members_(std::move(members)), epoch_(epoch) {
  if (std::none_of(members_.begin(), members_.end(), [&](const Member& m) { return m.id == self; })) {
    members_.push_back({self, ""});
  }
  std::sort(members_.begin(), members_.end(), [](const Member& a, const Member& b) { return a.id < b.id; });
  members_.erase(
      std::unique(members_.begin(), members_.end(), [](const Member& a, const Member& b) { return a.id == b.id; }),
      members_.end());
  seeds_.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    seeds_.push_back(member_seed(members_[i].id));
    if (members_[i].id == self) self_ = i;
  }
}

std::shared_ptr<const SeriesOwnership> SeriesOwnership::local(std::string self, std::string address) {
  std::vector<Member> members{{self, std::move(address)}};
  return std::make_shared<const SeriesOwnership>(std::move(self), std::move(members), 0);
}

}  // namespace tocsin::engine
