// Label sets and their fingerprints. A Labels value is always sorted by name with unique names and
// no empty values (an empty value means "absent", as in Prometheus), so two sets with the same
// pairs compare equal whatever order they were built in.
//
// Fingerprint: FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over
// name 0xFF value 0xFF for each pair in name order. It is stable across versions, platforms and
// runs: it is stored in the database and shown to users as 16 lowercase hex digits.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tocsin::core {

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};

// A label read in place (from a request body), not copied: see fingerprint_of.
struct LabelRef {
  std::string_view name;
  std::string_view value;
};

class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);
  static Labels from_pairs(std::vector<Label> pairs);  // sorts; a later duplicate name wins
  // Replaces the pairs with `sorted_pairs`, which must already be what a Labels holds (sorted by
  // name, unique names, no empty values), reusing this value's storage: no allocation when they
  // fit (a decoder that keeps its Labels from one request to the next allocates none).
  void assign_sorted(std::span<const LabelRef> sorted_pairs);

  // Sets (or with an empty value, removes) one label.
  void set(std::string_view name, std::string_view value);
  std::optional<std::string_view> get(std::string_view name) const;
  std::string_view get_or(std::string_view name, std::string_view fallback) const;

  const std::vector<Label>& pairs() const { return pairs_; }
  size_t size() const { return pairs_.size(); }
  bool empty() const { return pairs_.empty(); }
  auto begin() const { return pairs_.begin(); }
  auto end() const { return pairs_.end(); }

  uint64_t fingerprint() const;
  // Prometheus text form: {a="1", b="2"} with escaped values; "{}" when empty.
  std::string to_string() const;

  friend bool operator==(const Labels&, const Labels&) = default;

 private:
  std::vector<Label> pairs_;
};

// The fingerprint of pairs that are already what a Labels holds (sorted by name, unique names, no
// empty values): the same number as Labels::fingerprint() of those pairs, without building them.
uint64_t fingerprint_of(std::span<const LabelRef> sorted_pairs);

// A Labels value packed into one allocation (a pointer in the owner): the pairs' lengths as
// varints and their bytes, in order. For a label set that is kept per series and rarely read — a
// rule's alert labels — it costs about a third of a Labels value (4 pairs: ~80 bytes, not ~400:
// Labels holds a vector of two std::string per pair). Immutable; unpack() gives the Labels back.
class PackedLabels {
 public:
  PackedLabels() = default;
  explicit PackedLabels(const Labels& labels);
  PackedLabels(const PackedLabels& other) : PackedLabels(other.unpack()) {}
  PackedLabels& operator=(const PackedLabels& other) { return *this = PackedLabels(other); }
  PackedLabels(PackedLabels&&) noexcept = default;
  PackedLabels& operator=(PackedLabels&&) noexcept = default;

  Labels unpack() const;
  // Whether these are exactly `labels`, without unpacking (the series store asks per request).
  bool equals(const Labels& labels) const;
  size_t size() const;
  bool empty() const { return size() == 0; }
  // Where the packed bytes are (null for no pairs): for prefetching them.
  const void* storage() const { return bytes_.get(); }
  // Calls f(name, value) for each pair, in name order.
  template <class F>
  void for_each(F&& f) const {
    if (!bytes_) return;
    const char* p = bytes_.get();
    for (size_t n = read_varint(p); n > 0; --n) {
      const size_t name_len = read_varint(p);
      const size_t value_len = read_varint(p);
      f(std::string_view(p, name_len), std::string_view(p + name_len, value_len));
      p += name_len + value_len;
    }
  }

 private:
  static size_t read_varint(const char*& p);
  std::unique_ptr<char[]> bytes_;  // null: no pairs
};

std::string fingerprint_hex(uint64_t fingerprint);
// Escapes backslash, double quote and newline the way Prometheus label values are written.
std::string escape_label_value(std::string_view value);
bool is_valid_label_name(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*
bool is_valid_metric_name(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*

}  // namespace tocsin::core
