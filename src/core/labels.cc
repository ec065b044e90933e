#include "core/labels.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace tocsin::core {

Labels::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  for (const auto& [name, value] : pairs) set(name, value);
}

Labels Labels::from_pairs(std::vector<Label> pairs) {
  Labels out;
  // Why a fast path: remote_write senders send labels sorted and unique (decoders sort them
  // anyway), and the general path below allocates a sort buffer and grows a second vector per
  // series and request. For such input both paths give the same pairs.
  if (std::adjacent_find(pairs.begin(), pairs.end(), [](const Label& a, const Label& b) { return a.name >= b.name; }) ==
      pairs.end()) {
    out.pairs_ = std::move(pairs);
    std::erase_if(out.pairs_, [](const Label& l) { return l.value.empty(); });
    return out;
  }
  out.pairs_.reserve(pairs.size());
  std::stable_sort(pairs.begin(), pairs.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  for (auto& p : pairs) {
    if (!out.pairs_.empty() && out.pairs_.back().name == p.name) {
      out.pairs_.back().value = std::move(p.value);
    } else {
      out.pairs_.push_back(std::move(p));
    }
  }
  std::erase_if(out.pairs_, [](const Label& l) { return l.value.empty(); });
  return out;
}

void Labels::assign_sorted(std::span<const LabelRef> sorted_pairs) {
  pairs_.resize(sorted_pairs.size());
  for (size_t i = 0; i < sorted_pairs.size(); ++i) {
    pairs_[i].name.assign(sorted_pairs[i].name);
    pairs_[i].value.assign(sorted_pairs[i].value);
  }
}

void Labels::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(pairs_.begin(), pairs_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  const bool found = it != pairs_.end() && it->name == name;
  if (value.empty()) {
    if (found) pairs_.erase(it);
  } else if (found) {
    it->value = value;
  } else {
    pairs_.insert(it, Label{std::string(name), std::string(value)});
  }
}

namespace {

void write_varint(std::string& out, size_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

}  // namespace

PackedLabels::PackedLabels(const Labels& labels) {
  if (labels.empty()) return;
  std::string packed;
  write_varint(packed, labels.size());
  for (const auto& l : labels) {
    write_varint(packed, l.name.size());
    write_varint(packed, l.value.size());
    packed += l.name;
    packed += l.value;
  }
  bytes_ = std::make_unique_for_overwrite<char[]>(packed.size());
  std::copy(packed.begin(), packed.end(), bytes_.get());
}

size_t PackedLabels::read_varint(const char*& p) {
  size_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    v |= static_cast<size_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return v;
  }
}

Labels PackedLabels::unpack() const {
  std::vector<Label> pairs;
  pairs.reserve(size());
  for_each([&](std::string_view name, std::string_view value) { pairs.push_back({std::string(name), std::string(value)}); });
  return Labels::from_pairs(std::move(pairs));  // already sorted and unique: taken as they are
}

bool PackedLabels::equals(const Labels& labels) const {
  if (!bytes_) return labels.empty();
  const char* p = bytes_.get();
  if (read_varint(p) != labels.size()) return false;
  for (const auto& l : labels) {
    const size_t name_len = read_varint(p);
    const size_t value_len = read_varint(p);
    if (name_len != l.name.size() || value_len != l.value.size()) return false;
    if (std::string_view(p, name_len) != l.name || std::string_view(p + name_len, value_len) != l.value) return false;
    p += name_len + value_len;
  }
  return true;
}

size_t PackedLabels::size() const {
  if (!bytes_) return 0;
  const char* p = bytes_.get();
  return read_varint(p);
}

std::optional<std::string_view> Labels::get(std::string_view name) const {
  auto it = std::lower_bound(pairs_.begin(), pairs_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != pairs_.end() && it->name == name) return std::string_view(it->value);
  return std::nullopt;
}

std::string_view Labels::get_or(std::string_view name, std::string_view fallback) const {
  auto v = get(name);
  return v ? *v : fallback;
}

namespace {

// FNV-1a 64 over name 0xFF value 0xFF for each pair (the header says why it must never change).
class FingerprintHash {
 public:
  void add(std::string_view name, std::string_view value) {
    mix(name);
    mix(value);
  }
  uint64_t value() const { return h_; }

 private:
  static constexpr uint64_t kPrime = 0x100000001b3ULL;
  void mix(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= kPrime;
    }
    h_ ^= 0xFF;
    h_ *= kPrime;
  }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

uint64_t Labels::fingerprint() const {
  FingerprintHash h;
  for (const auto& l : pairs_) h.add(l.name, l.value);
  return h.value();
}

uint64_t fingerprint_of(std::span<const LabelRef> sorted_pairs) {
  FingerprintHash h;
  for (const auto& l : sorted_pairs) h.add(l.name, l.value);
  return h.value();
}

std::string Labels::to_string() const {
  std::string out = "{";
  for (size_t i = 0; i < pairs_.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("{}=\"{}\"", pairs_[i].name, escape_label_value(pairs_[i].value));
  }
  out += "}";
  return out;
}

std::string fingerprint_hex(uint64_t fingerprint) { return fmt::format("{:016x}", fingerprint); }

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {
// Per byte, where it may stand in a name: kFirst [a-zA-Z_], kLater also [0-9], kColon ':' (metric
// names only, anywhere). Why a table: every label of every remote_write series is checked, and
// one lookup per byte replaced a chain of range comparisons.
constexpr uint8_t kFirst = 1;
constexpr uint8_t kLater = 2;
constexpr uint8_t kColon = 4;
constexpr std::array<uint8_t, 256> kNameChars = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    t[static_cast<size_t>(c)] =
        static_cast<uint8_t>((letter ? kFirst | kLater : 0) | (digit ? kLater : 0) | (c == ':' ? kColon : 0));
  }
  return t;
}();
bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  const uint8_t extra = colon ? kColon : 0;
  auto cls = [&](size_t i) { return kNameChars[static_cast<unsigned char>(name[i])]; };
  if ((cls(0) & (kFirst | extra)) == 0) return false;
  for (size_t i = 1; i < name.size(); ++i) {
    if ((cls(i) & (kLater | extra)) == 0) return false;
  }
  return true;
}
}  // namespace

bool is_valid_label_name(std::string_view name) { return valid_name(name, false); }
bool is_valid_metric_name(std::string_view name) { return valid_name(name, true); }

}  // namespace tocsin::core
