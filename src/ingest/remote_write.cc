#include "ingest/remote_write.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>  // std::hash
#include <optional>
#include <utility>

#include "core/utf8.h"
#include "ingest/snappy_block.h"

namespace tocsin::ingest {

using core::Error;

namespace {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLength = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

// Groups are deprecated and never sent by Prometheus; skipping them recurses, so bound the depth.
constexpr int kMaxGroupDepth = 32;

std::string_view wire_type_name(WireType t) {
  switch (t) {
    case WireType::kVarint: return "0 (varint)";
    case WireType::kFixed64: return "1 (64-bit)";
    case WireType::kLength: return "2 (length-delimited)";
    case WireType::kStartGroup: return "3 (start group)";
    case WireType::kEndGroup: return "4 (end group)";
    case WireType::kFixed32: return "5 (32-bit)";
  }
  return "?";
}

struct Tag {
  uint32_t field = 0;
  WireType type = WireType::kVarint;
  size_t at = 0;  // absolute offset of the tag, for messages
};

// Reads one protobuf message (a slice of the whole WriteRequest). Errors are sticky: the first
// one is kept and the reader jumps to its end, so decode loops stop and the caller checks
// `error()` once per message instead of after every read (this is the hot path of ingestion).
class WireReader {
 public:
  WireReader(std::string_view data, size_t base) : data_(data), base_(base) {}

  bool more() const { return pos_ < data_.size(); }
  const std::optional<Error>& error() const { return error_; }
  size_t offset() const { return base_ + pos_; }

  std::optional<Tag> tag() {
    const size_t at = offset();
    const uint64_t raw = varint();
    if (error_) return std::nullopt;
    const uint64_t field = raw >> 3;
    const auto type = static_cast<uint8_t>(raw & 7);
    if (field == 0 || field > 0x1FFFFFFF) {
      fail_at(at, fmt::format("invalid field number {}", field));
      return std::nullopt;
    }
    if (type > 5) {
      fail_at(at, fmt::format("invalid wire type {}", type));
      return std::nullopt;
    }
    return Tag{static_cast<uint32_t>(field), static_cast<WireType>(type), at};
  }

  uint64_t varint() {
    // Fast path: a one-byte varint (every tag and most lengths of a WriteRequest).
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80) return static_cast<uint8_t>(data_[pos_++]);
    const size_t start = pos_;
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) {
        fail_at(base_ + start, "truncated varint");
        return 0;
      }
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      // The tenth byte may only hold the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) {
        fail_at(base_ + start, "varint overflows 64 bits");
        return 0;
      }
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    fail_at(base_ + start, "varint longer than 10 bytes");
    return 0;
  }

  uint64_t fixed64() {
    if (data_.size() - pos_ < 8) {
      fail_at(offset(), fmt::format("truncated 64-bit value ({} bytes left)", data_.size() - pos_));
      return 0;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + static_cast<size_t>(i)]);
    pos_ += 8;
    return v;
  }

  // A length-delimited payload; returns it with its absolute offset.
  std::pair<std::string_view, size_t> length_delimited() {
    const size_t at = offset();
    const uint64_t len = varint();
    if (error_) return {};
    const size_t left = data_.size() - pos_;
    if (len > left) {
      fail_at(at, fmt::format("length {} runs past the end of the enclosing message ({} bytes left)", len, left));
      return {};
    }
    const size_t begin = pos_;
    pos_ += static_cast<size_t>(len);
    return {data_.substr(begin, static_cast<size_t>(len)), base_ + begin};
  }

  void skip(const Tag& t, int depth = 0) {
    switch (t.type) {
      case WireType::kVarint: varint(); return;
      case WireType::kFixed64: skip_bytes(8); return;
      case WireType::kFixed32: skip_bytes(4); return;
      case WireType::kLength: length_delimited(); return;
      case WireType::kEndGroup: fail_at(t.at, fmt::format("end of group {} without a start", t.field)); return;
      case WireType::kStartGroup: break;
    }
    if (depth >= kMaxGroupDepth) {
      fail_at(t.at, fmt::format("groups nested deeper than {}", kMaxGroupDepth));
      return;
    }
    while (!error_) {
      if (!more()) {
        fail_at(t.at, fmt::format("group {} is not closed", t.field));
        return;
      }
      auto inner = tag();
      if (!inner) return;
      if (inner->type == WireType::kEndGroup) {
        if (inner->field != t.field) {
          fail_at(inner->at, fmt::format("end of group {} inside group {}", inner->field, t.field));
        }
        return;
      }
      skip(*inner, depth + 1);
    }
  }

  // A sample as every sender writes it, read in one go: tag 0x12 (field 2, length-delimited), a
  // one-byte length, the value (0x09 and 8 bytes) and the timestamp (0x10 and a varint of at most
  // 8 bytes) ending the message. Why: the samples are most of a request, and this reads each with
  // a few loads and masks instead of a tag, a length, a nested message and a varint loop. Anything
  // else returns false having read nothing, and the general path reads it (and reports what is
  // wrong with it): the same points either way (test SamplesInAnyLayoutDecodeAlike).
  bool sample(Point& out) {
    const size_t left = data_.size() - pos_;
    if (left < 13) return false;
    const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos_);
    const size_t len = p[1];
    if (p[0] != 0x12 || len < 11 || len > 18 || len + 2 > left || p[2] != 0x09 || p[11] != 0x10) return false;
    const size_t n = len - 10;  // the timestamp varint's bytes, 1 to 8
    // Why a whole 8-byte read then a mask where 8 bytes are there to read (all but a series' last
    // sample): a copy of n bytes into a zeroed word went through the stack in pieces, and the
    // word's load waited for them (a failed store forwarding) on every sample.
    const uint64_t w =
        left >= 20 ? little_endian(p + 12, 8) & (~uint64_t{0} >> (64 - 8 * n)) : little_endian(p + 12, n);
    // Every byte but the last has its high bit set, the last has it clear.
    const uint64_t continued = n == 1 ? 0 : (~uint64_t{0} >> (64 - 8 * (n - 1))) & 0x8080808080808080;
    if ((w & 0x8080808080808080) != continued) return false;
    // The 7-bit groups packed together, pairs, then fours, then all eight.
    uint64_t t = w & 0x7F7F7F7F7F7F7F7F;
    t = (t & 0x007F007F007F007F) | ((t & 0x7F007F007F007F00) >> 1);
    t = (t & 0x00003FFF00003FFF) | ((t & 0x3FFF00003FFF0000) >> 2);
    t = (t & 0x000000000FFFFFFF) | ((t & 0x0FFFFFFF00000000) >> 4);
    out = Point{std::bit_cast<double>(little_endian(p + 3, 8)), core::from_unix_ms(static_cast<int64_t>(t))};
    pos_ += 2 + len;
    return true;
  }

  // Fails when a known field arrives with another wire type than its declared one.
  bool expect(const Tag& t, WireType want, std::string_view name) {
    if (t.type == want) return true;
    fail_at(t.at, fmt::format("field {} ({}) has wire type {}, expected {}", t.field, name, wire_type_name(t.type),
                              wire_type_name(want)));
    return false;
  }

  void fail_at(size_t at, std::string message) {
    if (!error_) error_ = Error::invalid_argument(fmt::format("{} at byte {}", message, at));
    pos_ = data_.size();
  }

 private:
  // The n (at most 8) bytes at p as a little-endian integer.
  static uint64_t little_endian(const uint8_t* p, size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
    return v;
  }

  void skip_bytes(size_t n) {
    if (data_.size() - pos_ < n) {
      fail_at(offset(), fmt::format("truncated {}-byte value ({} bytes left)", n, data_.size() - pos_));
      return;
    }
    pos_ += n;
  }

  std::string_view data_;
  size_t base_;
  size_t pos_ = 0;
  std::optional<Error> error_;
};

std::unexpected<Error> fail(Error error, std::string field) {
  return std::unexpected(std::move(error).field(std::move(field)));
}

struct RawLabel {
  std::string_view name;
  std::string_view value;
  size_t at = 0;
};

core::Result<RawLabel> decode_label(std::string_view data, size_t base, size_t index) {
  WireReader r(data, base);
  RawLabel label{{}, {}, base};
  while (r.more()) {
    auto t = r.tag();
    if (!t) break;
    if (t->field == 1 || t->field == 2) {
      if (!r.expect(*t, WireType::kLength, t->field == 1 ? "name" : "value")) break;
      (t->field == 1 ? label.name : label.value) = r.length_delimited().first;
    } else {
      r.skip(*t);
    }
  }
  if (r.error()) return fail(*r.error(), fmt::format("labels[{}]", index));
  return label;
}

// Any layout of a Sample message; the usual one is read before it gets here (WireReader::sample).
core::Result<Point> decode_sample(std::string_view data, size_t base) {
  WireReader r(data, base);
  Point p;
  while (r.more()) {
    auto t = r.tag();
    if (!t) break;
    if (t->field == 1) {
      if (!r.expect(*t, WireType::kFixed64, "value")) break;
      p.value = std::bit_cast<double>(r.fixed64());
    } else if (t->field == 2) {
      if (!r.expect(*t, WireType::kVarint, "timestamp")) break;
      p.ts = core::from_unix_ms(static_cast<int64_t>(r.varint()));  // int64: two's complement varint
    } else {
      r.skip(*t);
    }
  }
  if (r.error()) return std::unexpected(*r.error());
  return p;
}

// `raw` must be sorted by name, so duplicates are neighbours. Sets `out` to the labels with a value
// (an empty value means "absent"), reusing its storage.
core::Status validate_labels(const std::vector<RawLabel>& raw, std::vector<core::LabelRef>& pairs, core::Labels& out) {
  pairs.clear();
  bool has_name = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const RawLabel& l = raw[i];
    auto bad = [&](std::string message) {
      return std::unexpected(Error::invalid_argument(fmt::format("{} (label at byte {})", message, l.at)).field("labels"));
    };
    if (!core::is_valid_label_name(l.name)) {
      const std::string shown = core::is_valid_utf8(l.name) ? std::string(l.name) : "<not UTF-8>";
      return bad(fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*", shown));
    }
    if (i > 0 && raw[i - 1].name == l.name) return bad(fmt::format("duplicate label name \"{}\"", l.name));
    if (!core::is_valid_utf8(l.value)) return bad(fmt::format("value of label \"{}\" is not valid UTF-8", l.name));
    if (l.name == "__name__") {
      if (!core::is_valid_metric_name(l.value)) {
        return bad(fmt::format("bad metric name \"{}\": expected [a-zA-Z_:][a-zA-Z0-9_:]*", l.value));
      }
      has_name = true;
    }
    if (!l.value.empty()) pairs.push_back(core::LabelRef{l.name, l.value});
  }
  if (!has_name) return std::unexpected(Error::invalid_argument("missing __name__ label").field("labels"));
  out.assign_sorted(pairs);
  return {};
}

// Decompresses into `out`, reusing its capacity.
core::Status snappy_decompress_into(std::string_view compressed, size_t max_decoded_bytes, std::string& out) {
  if (compressed.empty()) return std::unexpected(Error::invalid_argument("empty body: expected a snappy-compressed WriteRequest"));
  const auto preamble = snappy_block::read_preamble(compressed);
  if (!preamble) return std::unexpected(Error::invalid_argument("snappy: corrupt length header"));
  const size_t length = preamble->length;
  // A snappy element expands at most 64 bytes out of 3 (a copy with a 2-byte offset): a header
  // claiming more is corrupt, and checking it here saves allocating and zeroing the claimed size.
  if (length / 22 > compressed.size()) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("snappy: corrupt length header ({} bytes claimed from {} compressed)", length, compressed.size())));
  }
  if (length > max_decoded_bytes) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("snappy: decoded size {} bytes exceeds the limit of {} bytes", length, max_decoded_bytes)));
  }
  out.resize(length);
  if (!snappy_block::uncompress(compressed.substr(preamble->header_bytes), out.data(), length)) {
    return std::unexpected(Error::invalid_argument("snappy: corrupt compressed data"));
  }
  return {};
}

// The label fields at the start of a TimeSeries message, as bytes: fields of number 1, wire type
// 2 (tag 0x0A), one after another, each whole. Stops before anything else, including a label
// field whose length is malformed (the full decoding reports it).
std::string_view leading_labels(std::string_view ts) {
  size_t pos = 0;
  while (pos < ts.size() && ts[pos] == 0x0A) {
    uint64_t len = 0;
    size_t at = pos + 1;
    int shift = 0;
    for (;; shift += 7) {
      if (at >= ts.size() || shift > 28) return ts.substr(0, pos);
      const auto byte = static_cast<uint8_t>(ts[at++]);
      len |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (len > ts.size() - at) return ts.substr(0, pos);
    pos = at + static_cast<size_t>(len);
  }
  return ts.substr(0, pos);
}

// A number no kept label set had before, in any decoder (Series::labels_id).
uint64_t next_label_set_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// Reads a TimeSeries message from byte `from` on: its samples into `series.points` (appended),
// its labels into `raw` (appended). With `stop_at_labels`, returns true as soon as a label field
// comes, having read nothing of it (the caller then reads the message again in full).
// `path()` names the series for errors.
template <class Path>
core::Result<bool> read_series_fields(std::string_view ts, size_t base, size_t from, bool stop_at_labels,
                                      Series& series, std::vector<RawLabel>& raw, size_t& samples, const Path& path) {
  auto too_many = [&] {
    return fail(Error::invalid_argument(fmt::format("more than {} samples in one request", kMaxRemoteWriteSamples)),
                path());
  };
  WireReader r(ts.substr(from), base + from);
  while (r.more()) {
    if (Point point; r.sample(point)) {
      series.points.push_back(point);
      if (++samples > kMaxRemoteWriteSamples) return too_many();
      continue;
    }
    auto inner = r.tag();
    if (!inner) break;
    if (inner->field == 1) {
      if (stop_at_labels) return true;
      if (!r.expect(*inner, WireType::kLength, "labels")) break;
      auto [data, label_base] = r.length_delimited();
      if (r.error()) break;
      auto label = decode_label(data, label_base, raw.size());
      if (!label) return fail(label.error(), path() + "." + label.error().field());
      raw.push_back(*label);
    } else if (inner->field == 2) {
      if (!r.expect(*inner, WireType::kLength, "samples")) break;
      auto [data, sample_base] = r.length_delimited();
      if (r.error()) break;
      const size_t sample_index = series.points.size();
      auto point = decode_sample(data, sample_base);
      if (!point) return fail(point.error(), fmt::format("{}.samples[{}]", path(), sample_index));
      series.points.push_back(*point);
      if (++samples > kMaxRemoteWriteSamples) return too_many();
    } else {
      r.skip(*inner);
    }
  }
  if (r.error()) return fail(*r.error(), path());
  return false;
}

// Decodes into `out`, reusing its elements (their label strings and points vectors) in order;
// `out` ends with exactly the decoded series. With `kept`, label sets are taken from and added to
// it (RemoteWriteDecoder).
core::Status decode_write_request_into(std::string_view protobuf, std::vector<Series>& out,
                                       RemoteWriteDecoder::LabelSets* kept) {
  std::vector<RawLabel> raw_labels;  // reused across series
  std::vector<core::LabelRef> pairs;
  size_t used = 0;  // series of `out` filled so far
  size_t samples = 0;
  size_t series_seen = 0;  // the wire index, for error paths (series without samples are left out)
  WireReader top(protobuf, 0);
  while (top.more()) {
    auto t = top.tag();
    if (!t) break;
    if (t->field != 1) {
      top.skip(*t);
      continue;
    }
    const size_t index = series_seen++;
    // Built only on error: formatting it for every series would cost an allocation each.
    auto path = [index] { return fmt::format("timeseries[{}]", index); };
    if (!top.expect(*t, WireType::kLength, "timeseries")) break;
    auto [ts_data, ts_base] = top.length_delimited();
    if (top.error()) break;

    if (used == out.size()) {
      // A new element: reserve as many points as the previous series had (senders batch series alike).
      out.emplace_back();
      if (used > 0) out[used].points.reserve(std::min<size_t>(out[used - 1].points.size(), 1024));
    }
    Series& series = out[used];
    series.points.clear();
    raw_labels.clear();
    // A label set kept from before: the same bytes, so the same labels, already validated. The
    // rest of the message is read as ever; should a label field come after the samples (no sender
    // does that), the message is read again in full.
    const std::string_view wire = kept ? leading_labels(ts_data) : std::string_view{};
    const uint64_t key = wire.empty() ? 0 : std::hash<std::string_view>{}(wire);
    if (const RemoteWriteDecoder::KeptLabels* k = wire.empty() ? nullptr : kept->by_hash.find(key);
        k && k->wire == wire) {
      const bool more_labels =
          TOCSIN_TRY(read_series_fields(ts_data, ts_base, wire.size(), true, series, raw_labels, samples, path));
      if (!more_labels) {
        series.labels = k->labels;
        series.fingerprint = k->fingerprint;
        series.labels_id = k->id;
        if (!series.points.empty()) ++used;
        continue;
      }
      samples -= series.points.size();
      series.points.clear();
    }
    TOCSIN_TRY(read_series_fields(ts_data, ts_base, 0, false, series, raw_labels, samples, path));
    std::sort(raw_labels.begin(), raw_labels.end(), [](const RawLabel& a, const RawLabel& b) { return a.name < b.name; });
    if (auto valid = validate_labels(raw_labels, pairs, series.labels); !valid) {
      return fail(valid.error(), path() + "." + valid.error().field());
    }
    series.fingerprint = 0;
    series.labels_id = 0;
    // Kept when every label field was in the leading run (the bytes then say all of the labels).
    const bool all_leading = std::all_of(raw_labels.begin(), raw_labels.end(),
                                         [&](const RawLabel& l) { return l.at < ts_base + wire.size(); });
    if (!wire.empty() && all_leading) {
      if (kept->size() >= kept->max_sets || kept->wire_bytes + wire.size() > RemoteWriteDecoder::kMaxKeptLabelBytes) {
        kept->by_hash.clear();
        kept->wire_bytes = 0;
      }
      auto [k, fresh] = kept->by_hash.try_emplace(key);
      if (!fresh) kept->wire_bytes -= k->wire.size();
      k->wire.assign(wire);
      k->labels = series.labels;
      k->fingerprint = series.labels.fingerprint();
      k->id = next_label_set_id();
      kept->wire_bytes += wire.size();
      series.fingerprint = k->fingerprint;
      series.labels_id = k->id;
    }
    if (!series.points.empty()) ++used;
  }
  if (top.error()) return std::unexpected(*top.error());
  out.resize(used);
  return {};
}

}  // namespace

core::Result<std::string> snappy_decompress(std::string_view compressed, size_t max_decoded_bytes) {
  std::string out;
  TOCSIN_RETURN_IF_ERROR(snappy_decompress_into(compressed, max_decoded_bytes, out));
  return out;
}

core::Result<std::vector<Series>> decode_write_request(std::string_view protobuf) {
  std::vector<Series> out;
  TOCSIN_RETURN_IF_ERROR(decode_write_request_into(protobuf, out, nullptr));
  return out;
}

core::Result<std::vector<Series>*> RemoteWriteDecoder::decode(std::string_view snappy_body) {
  // The decompressed bytes' capacity is the largest request since the storage was last given back
  // (successful or not), and bounds what the series hold: the test for a large one.
  if (protobuf_.capacity() > kRetainedBytes) {
    // Swapped out, not assigned: assigning an empty string keeps the old buffer.
    std::string().swap(protobuf_);
    std::vector<Series>().swap(series_);
  }
  TOCSIN_RETURN_IF_ERROR(snappy_decompress_into(snappy_body, kMaxRemoteWriteDecodedBytes, protobuf_));
  TOCSIN_RETURN_IF_ERROR(decode_write_request_into(protobuf_, series_, &label_sets_));
  return &series_;
}

core::Result<std::vector<core::Sample>> parse_remote_write(std::string_view snappy_body) {
  const std::string protobuf = TOCSIN_TRY(snappy_decompress(snappy_body));
  std::vector<Series> series = TOCSIN_TRY(decode_write_request(protobuf));
  size_t n = 0;
  for (const auto& s : series) n += s.points.size();
  std::vector<core::Sample> out;
  out.reserve(n);
  for (auto& s : series) {
    // The last sample of a series takes the labels by move; the others copy them.
    for (size_t i = 0; i < s.points.size(); ++i) {
      const Point& p = s.points[i];
      out.push_back(core::Sample{i + 1 == s.points.size() ? std::move(s.labels) : s.labels, p.value, p.ts});
    }
  }
  return out;
}

}  // namespace tocsin::ingest
