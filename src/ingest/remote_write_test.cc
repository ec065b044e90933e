#include "ingest/remote_write.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tocsin::ingest {
namespace {

// A minimal protobuf writer for building WriteRequests by hand.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string tag(uint32_t field, uint32_t wire) { return varint((uint64_t{field} << 3) | wire); }
std::string bytes_field(uint32_t field, std::string_view payload) {
  return tag(field, 2) + varint(payload.size()) + std::string(payload);
}
std::string double_field(uint32_t field, double v) {
  std::string out = tag(field, 1);
  const auto bits = std::bit_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
  return out;
}
std::string label(std::string_view name, std::string_view value) {
  return bytes_field(1, bytes_field(1, name) + bytes_field(2, value));
}
std::string sample(double value, int64_t ts) {
  return bytes_field(2, double_field(1, value) + tag(2, 0) + varint(static_cast<uint64_t>(ts)));
}
std::string series(std::vector<std::pair<std::string, std::string>> labels, std::vector<std::pair<double, int64_t>> samples) {
  std::string body;
  for (const auto& [n, v] : labels) body += label(n, v);
  for (const auto& [v, t] : samples) body += sample(v, t);
  return bytes_field(1, body);
}
std::string compress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

TEST(RemoteWrite, DecodesSeriesAndSamples) {
  const std::string req = series({{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}},
                                 {{0.5, 1000}, {0.95, 2000}}) +
                          series({{"instance", "h2"}, {"__name__", "up"}}, {{1, 3000}});
  auto r = parse_remote_write(compress(req));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 3u);
  const core::Labels load{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}};
  EXPECT_EQ((*r)[0].labels, load);
  EXPECT_EQ((*r)[1].labels, load);
  EXPECT_DOUBLE_EQ((*r)[0].value, 0.5);
  EXPECT_DOUBLE_EQ((*r)[1].value, 0.95);
  EXPECT_EQ((*r)[0].ts, core::from_unix_ms(1000));
  EXPECT_EQ((*r)[1].ts, core::from_unix_ms(2000));
  EXPECT_EQ((*r)[2].labels, (core::Labels{{"__name__", "up"}, {"instance", "h2"}}));
  EXPECT_EQ((*r)[2].ts, core::from_unix_ms(3000));
}

TEST(RemoteWrite, SeriesShareOneLabelSetInTheSeriesApi) {
  const std::string req = series({{"__name__", "m"}}, {{1, 1}, {2, 2}, {3, 3}});
  auto r = decode_write_request(req);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].points.size(), 3u);
  EXPECT_DOUBLE_EQ((*r)[0].points[2].value, 3);
}

TEST(RemoteWrite, EdgeCases) {
  // Empty request; a series without samples is left out; negative and zero timestamps; proto3
  // defaults (a sample with no fields is value 0 at time 0); special values kept as sent.
  auto empty = parse_remote_write(compress(""));
  ASSERT_TRUE(empty.has_value()) << empty.error().to_string();
  EXPECT_TRUE(empty->empty());

  const double stale = std::bit_cast<double>(uint64_t{0x7ff0000000000002});
  const std::string req = series({{"__name__", "no_samples"}}, {}) +
                          series({{"__name__", "m"}, {"empty", ""}},
                                 {{-1.5, -5}, {stale, 0}, {std::numeric_limits<double>::infinity(), 7}}) +
                          bytes_field(1, label("__name__", "d") + bytes_field(2, ""));
  auto r = decode_write_request(req);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].labels, (core::Labels{{"__name__", "m"}}));  // an empty value means absent
  EXPECT_EQ((*r)[0].points[0].ts, core::from_unix_ms(-5));
  EXPECT_TRUE(std::isnan((*r)[0].points[1].value));
  EXPECT_TRUE(std::isinf((*r)[0].points[2].value));
  EXPECT_EQ((*r)[1].points[0].value, 0);
  EXPECT_EQ((*r)[1].points[0].ts, core::from_unix_ms(0));

  // int64 extremes survive the two's-complement varint.
  auto extreme = decode_write_request(series({{"__name__", "m"}}, {{1, std::numeric_limits<int64_t>::min()},
                                                                   {2, std::numeric_limits<int64_t>::max()}}));
  ASSERT_TRUE(extreme.has_value()) << extreme.error().to_string();
  EXPECT_EQ(core::to_unix_ms((*extreme)[0].points[0].ts), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(core::to_unix_ms((*extreme)[0].points[1].ts), std::numeric_limits<int64_t>::max());
}

TEST(RemoteWrite, SkipsUnknownFieldsByWireType) {
  // Metadata (field 3 of WriteRequest), exemplars and histograms (3, 4 of TimeSeries), and
  // unknown fields of every wire type, groups included, anywhere.
  const std::string unknown = tag(9, 0) + varint(300) + tag(10, 1) + std::string(8, 'x') + tag(11, 5) +
                              std::string(4, 'y') + bytes_field(12, "zzz") + tag(13, 3) + tag(14, 0) + varint(1) +
                              tag(15, 3) + tag(15, 4) + tag(13, 4);
  const std::string metadata = bytes_field(3, tag(1, 0) + varint(1) + bytes_field(2, "m") + bytes_field(4, "help"));
  const std::string ts_body = unknown + label("__name__", "m") + bytes_field(3, "exemplar") + bytes_field(4, "hist") +
                              bytes_field(1, unknown + bytes_field(1, "a") + bytes_field(2, "b")) +
                              bytes_field(2, unknown + double_field(1, 4.5) + tag(2, 0) + varint(9));
  const std::string req = metadata + unknown + bytes_field(1, ts_body) + metadata;
  auto r = decode_write_request(req);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].labels, (core::Labels{{"__name__", "m"}, {"a", "b"}}));
  ASSERT_EQ((*r)[0].points.size(), 1u);
  EXPECT_DOUBLE_EQ((*r)[0].points[0].value, 4.5);
  EXPECT_EQ((*r)[0].points[0].ts, core::from_unix_ms(9));
}

// Most samples take a fast path (value then timestamp, nothing else); every other layout takes the
// general one. Both must give the same points, and the same errors.
TEST(RemoteWrite, SamplesInAnyLayoutDecodeAlike) {
  auto one = [](const std::string& sample_body) {
    return decode_write_request(bytes_field(1, label("__name__", "m") + bytes_field(2, sample_body)));
  };
  auto point_of = [&](const std::string& sample_body) -> std::pair<double, int64_t> {
    auto r = one(sample_body);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    if (!r || r->size() != 1 || (*r)[0].points.size() != 1) return {-1, -1};
    return {(*r)[0].points[0].value, core::to_unix_ms((*r)[0].points[0].ts)};
  };
  const auto ts = [](int64_t t) { return tag(2, 0) + varint(static_cast<uint64_t>(t)); };
  using P = std::pair<double, int64_t>;
  EXPECT_EQ(point_of(double_field(1, 2.5) + ts(1700000000123)), (P{2.5, 1700000000123}));  // the common layout
  EXPECT_EQ(point_of(double_field(1, 2.5) + ts(0)), (P{2.5, 0}));                          // a one-byte varint
  EXPECT_EQ(point_of(double_field(1, -7) + ts(-1)), (P{-7, -1}));                          // ten bytes
  EXPECT_EQ(point_of(double_field(1, 1) + ts(std::numeric_limits<int64_t>::min())),
            (P{1, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(point_of(ts(42) + double_field(1, 3)), (P{3, 42}));                     // reordered
  EXPECT_EQ(point_of(double_field(1, 1) + ts(5) + double_field(1, 9)), (P{9, 5}));  // the last wins
  EXPECT_EQ(point_of(double_field(1, 1) + ts(5) + ts(6)), (P{1, 6}));
  EXPECT_EQ(point_of(double_field(1, 4) + ts(8) + tag(9, 0) + varint(1)), (P{4, 8}));  // unknown field after
  EXPECT_EQ(point_of(double_field(1, 4)), (P{4, 0}));                                  // no timestamp
  EXPECT_EQ(point_of(double_field(1, 2) + ts(int64_t{1} << 55)), (P{2, int64_t{1} << 55}));     // eight bytes
  EXPECT_EQ(point_of(double_field(1, 2) + ts(int64_t{1} << 56)), (P{2, int64_t{1} << 56}));     // nine
  EXPECT_EQ(point_of(double_field(1, 2) + tag(2, 0) + std::string("\x85\x00", 2)), (P{2, 5}));  // not minimal
  // A message longer than 127 bytes (a two-byte length), the common fields first.
  EXPECT_EQ(point_of(double_field(1, 3) + ts(7) + bytes_field(9, std::string(120, 'x'))), (P{3, 7}));
  // A timestamp varint of 0x80 bytes up to the message's end, and one of 11 bytes: the errors the
  // general path reports.
  auto truncated = one(double_field(1, 1) + tag(2, 0) + std::string(3, '\x80'));
  ASSERT_FALSE(truncated.has_value());
  EXPECT_NE(truncated.error().message().find("truncated varint"), std::string::npos) << truncated.error().to_string();
  auto overlong = one(double_field(1, 1) + tag(2, 0) + std::string(10, '\xff') + std::string(1, '\x01'));
  ASSERT_FALSE(overlong.has_value());
  EXPECT_NE(overlong.error().message().find("varint"), std::string::npos) << overlong.error().to_string();
  auto top_bits = one(double_field(1, 1) + tag(2, 0) + std::string(9, '\xff') + std::string(1, '\x02'));
  ASSERT_FALSE(top_bits.has_value());
  EXPECT_NE(top_bits.error().message().find("overflows 64 bits"), std::string::npos) << top_bits.error().to_string();
}

// A request may hold at most kMaxRemoteWriteSamples samples: one more is refused, whichever way
// its samples are written.
TEST(RemoteWrite, RefusesMoreSamplesThanTheLimit) {
  const std::string common = bytes_field(2, double_field(1, 1) + tag(2, 0) + varint(1700000000000));
  const std::string reordered = bytes_field(2, tag(2, 0) + varint(1700000000000) + double_field(1, 1));
  for (const std::string& sample : {common, reordered}) {
    std::string samples;
    samples.reserve(sample.size() * (kMaxRemoteWriteSamples + 1));
    for (size_t i = 0; i < kMaxRemoteWriteSamples; ++i) samples += sample;
    const std::string series = label("__name__", "m") + samples;
    EXPECT_TRUE(decode_write_request(bytes_field(1, series)).has_value()) << "exactly the limit";
    auto over = decode_write_request(bytes_field(1, series + sample));
    ASSERT_FALSE(over.has_value());
    EXPECT_NE(over.error().message().find("more than 2000000 samples"), std::string::npos) << over.error().to_string();
    EXPECT_EQ(over.error().field(), "timeseries[0]");
  }
}

// One decoder for a stream of requests: each result is exactly what that request holds, whatever
// the requests before it held (more series, more labels, more points) or whether they failed.
TEST(RemoteWriteDecoder, ReusesItsStorageAndReturnsWhatEachRequestHolds) {
  const std::string a =
      series({{"__name__", "a_long_metric_name_beyond_sso"}, {"instance", "host-1:9100"}, {"job", "x"}},
             {{1, 1}, {2, 2}, {3, 3}}) +
      series({{"__name__", "b"}, {"zone", "eu"}}, {{4, 4}}) + series({{"__name__", "c"}}, {{5, 5}});
  const std::string b =
      series({{"__name__", "d"}}, {{6, 6}}) + series({{"__name__", "e"}, {"x", "y"}}, {{7, 7}, {8, 8}});
  const std::string bad = series({{"__name__", "f"}}, {{1, 1}}) + series({{"instance", "no name"}}, {{2, 2}});
  std::string large;
  for (int i = 0; i < 1100; ++i)
    large +=
        series({{"__name__", "g"}, {"i", std::to_string(i)}}, std::vector<std::pair<double, int64_t>>(100, {1, 1}));

  RemoteWriteDecoder decoder;
  auto expect_as_fresh = [&](const std::string& raw) {
    auto got = decoder.decode(compress(raw));
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
    auto want = decode_write_request(raw);
    ASSERT_TRUE(want.has_value());
    ASSERT_EQ((*got)->size(), want->size());
    for (size_t i = 0; i < want->size(); ++i) {
      EXPECT_EQ((**got)[i].labels, (*want)[i].labels) << i;
      ASSERT_EQ((**got)[i].points.size(), (*want)[i].points.size()) << i;
      for (size_t k = 0; k < (*want)[i].points.size(); ++k) {
        EXPECT_EQ((**got)[i].points[k].value, (*want)[i].points[k].value);
        EXPECT_EQ((**got)[i].points[k].ts, (*want)[i].points[k].ts);
      }
    }
  };
  expect_as_fresh(a);
  expect_as_fresh(b);
  auto failed = decoder.decode(compress(bad));
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().to_string().find("missing __name__"), std::string::npos) << failed.error().to_string();
  EXPECT_FALSE(decoder.decode("not snappy").has_value());
  expect_as_fresh(a);
  ASSERT_GT(large.size(), RemoteWriteDecoder::kRetainedBytes);
  expect_as_fresh(large);  // beyond kRetainedBytes: given back at the next decode
  EXPECT_GT(decoder.retained_bytes(), RemoteWriteDecoder::kRetainedBytes);
  expect_as_fresh(b);
  EXPECT_LE(decoder.retained_bytes(), RemoteWriteDecoder::kRetainedBytes);
  expect_as_fresh("");
  expect_as_fresh(a);
}

// The label sets a decoder keeps change nothing it returns: request after request the same series
// as a fresh decode, in every layout, and each kept set's fingerprint is its labels'.
TEST(RemoteWriteDecoder, KeptLabelSetsDecodeAsAFreshDecodeDoes) {
  // A label field after the samples (no sender writes that, the format allows it): the same
  // leading bytes as the first series, and one more label.
  const std::string later_label = bytes_field(
      1, label("__name__", "cpu") + label("host", "a") + sample(9, 9) + label("zone", "eu") + sample(10, 10));
  const std::string req =
      series({{"__name__", "cpu"}, {"host", "a"}}, {{1, 1}, {2, 2}}) +
      series({{"host", "b"}, {"__name__", "cpu"}}, {{3, 3}}) +                 // unsorted on the wire
      series({{"__name__", "cpu"}, {"empty", ""}, {"host", "c"}}, {{4, 4}}) +  // an empty value: absent
      series({{"__name__", "cpu"}, {"host", "a"}}, {{5, 5}}) + later_label;
  RemoteWriteDecoder decoder;
  auto want = decode_write_request(req);
  ASSERT_TRUE(want.has_value()) << want.error().to_string();
  ASSERT_EQ(want->size(), 5u);
  EXPECT_EQ((*want)[4].labels, (core::Labels{{"__name__", "cpu"}, {"host", "a"}, {"zone", "eu"}}));
  for (int round = 0; round < 3; ++round) {
    auto got = decoder.decode(compress(req));
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
    ASSERT_EQ((*got)->size(), want->size());
    for (size_t i = 0; i < want->size(); ++i) {
      const Series& s = (**got)[i];
      EXPECT_EQ(s.labels, (*want)[i].labels) << "round " << round << ", series " << i;
      ASSERT_EQ(s.points.size(), (*want)[i].points.size()) << i;
      for (size_t k = 0; k < s.points.size(); ++k) EXPECT_EQ(s.points[k].ts, (*want)[i].points[k].ts);
      // Every series whose labels all come first is kept, and carries its fingerprint.
      if (i < 4) {
        EXPECT_EQ(s.fingerprint, s.labels.fingerprint()) << "round " << round << ", series " << i;
      } else {
        EXPECT_EQ(s.fingerprint, 0u) << "a label after the samples: not kept";
      }
    }
    EXPECT_EQ(decoder.label_sets(), 3u) << "three distinct label runs that say all of their labels";
  }
  // Kept label bytes followed by a bad sample: the error of a fresh decode.
  const std::string bad = bytes_field(1, label("__name__", "cpu") + label("host", "a") + bytes_field(2, "\x09"));
  auto fresh_error = decode_write_request(bad);
  ASSERT_FALSE(fresh_error.has_value());
  auto kept_error = decoder.decode(compress(bad));
  ASSERT_FALSE(kept_error.has_value());
  EXPECT_EQ(kept_error.error().to_string(), fresh_error.error().to_string());
}

// At most the bound of label sets is kept; past it they are dropped and kept again as they come.
TEST(RemoteWriteDecoder, KeepsAtMostItsBoundOfLabelSets) {
  std::string req;
  for (int i = 0; i < 6; ++i) req += series({{"__name__", "m"}, {"i", std::to_string(i)}}, {{1, 1}});
  RemoteWriteDecoder decoder(4);
  for (int round = 0; round < 3; ++round) {
    auto got = decoder.decode(compress(req));
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
    ASSERT_EQ((*got)->size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
      EXPECT_EQ((**got)[i].labels, (core::Labels{{"__name__", "m"}, {"i", std::to_string(i)}}));
      const uint64_t fp = (**got)[i].fingerprint;
      EXPECT_TRUE(fp == 0 || fp == (**got)[i].labels.fingerprint()) << i;
    }
    EXPECT_LE(decoder.label_sets(), 4u);
    EXPECT_GT(decoder.label_sets(), 0u);
  }
}

// Series::labels_id: the same id for the same kept label set request after request, distinct ids
// for distinct sets, a new id (never an old one) once a set is kept again or kept by another
// decoder, and 0 for labels not kept (a label field after the samples).
TEST(RemoteWriteDecoder, GivesEachKeptLabelSetAnIdOfItsOwn) {
  auto ids = [](RemoteWriteDecoder& decoder, const std::string& req) {
    auto got = decoder.decode(compress(req));
    EXPECT_TRUE(got.has_value()) << got.error().to_string();
    std::vector<uint64_t> out;
    if (got) {
      for (const auto& s : **got) out.push_back(s.labels_id);
    }
    return out;
  };
  const std::string late = bytes_field(1, sample(1, 1) + label("__name__", "late"));
  const std::string req =
      series({{"__name__", "m"}, {"i", "0"}}, {{1, 1}}) + series({{"__name__", "m"}, {"i", "1"}}, {{1, 1}}) + late;
  RemoteWriteDecoder decoder;
  const auto first = ids(decoder, req);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_NE(first[0], 0u);
  EXPECT_NE(first[1], 0u);
  EXPECT_NE(first[0], first[1]);
  EXPECT_EQ(first[2], 0u) << "a label after the samples: not kept";
  EXPECT_EQ(ids(decoder, req), first) << "kept: the same ids";
  EXPECT_EQ(ids(decoder, late + req).front(), 0u) << "not the id of the series decoded into this place before";
  RemoteWriteDecoder other;
  const auto theirs = ids(other, req);
  ASSERT_EQ(theirs.size(), 3u);
  EXPECT_NE(theirs[0], first[0]);
  EXPECT_NE(theirs[0], first[1]);
  EXPECT_NE(theirs[1], first[0]);
  EXPECT_NE(theirs[1], first[1]);
  // With room for one set, each decode drops the kept sets and keeps them again: new ids each time.
  RemoteWriteDecoder small(1);
  std::set<uint64_t> seen;
  for (int round = 0; round < 3; ++round) {
    for (const uint64_t id : ids(small, req)) {
      if (id == 0) continue;
      EXPECT_TRUE(seen.insert(id).second) << "id " << id << " given twice";
      EXPECT_NE(id, first[0]);
      EXPECT_NE(id, first[1]);
    }
  }
  EXPECT_GE(seen.size(), 5u);
}

TEST(RemoteWrite, RejectsBadInputWithOffsetsAndPaths) {
  struct Case {
    std::string name;
    std::string protobuf;
    std::string message;
    std::string field;
  };
  const std::string ok_series = series({{"__name__", "m"}}, {{1, 1}});
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += tag(5, 3);
  const Case cases[] = {
      {"truncated varint", ok_series + "\x80", "truncated varint at byte " + std::to_string(ok_series.size()), ""},
      {"varint too long", std::string(10, '\xff') + "\x01", "varint overflows 64 bits at byte 0", ""},
      {"field number zero", tag(0, 0) + varint(1), "invalid field number 0 at byte 0", ""},
      {"wire type 7", varint((1 << 3) | 7), "invalid wire type 7 at byte 0", ""},
      {"length past the end", tag(1, 2) + varint(100) + "abc", "length 100 runs past the end", ""},
      {"timeseries as varint", tag(1, 0) + varint(5), "field 1 (timeseries) has wire type 0 (varint), expected 2", ""},
      {"inner length past the series", bytes_field(1, tag(1, 2) + varint(50) + "x"), "runs past the end of the enclosing message",
       "timeseries[0]"},
      {"value as varint", bytes_field(1, label("__name__", "m") + bytes_field(2, tag(1, 0) + varint(1))),
       "field 1 (value) has wire type 0 (varint), expected 1 (64-bit)", "timeseries[0].samples[0]"},
      {"truncated double", bytes_field(1, label("__name__", "m") + bytes_field(2, tag(1, 1) + "abc")),
       "truncated 64-bit value (3 bytes left)", "timeseries[0].samples[0]"},
      {"label name as varint", bytes_field(1, bytes_field(1, tag(1, 0) + varint(3))),
       "field 1 (name) has wire type 0 (varint), expected 2", "timeseries[0].labels[0]"},
      {"missing __name__", series({{"job", "x"}}, {{1, 1}}), "missing __name__ label", "timeseries[0].labels"},
      {"second series bad", ok_series + series({{"__name__", "1m"}}, {{1, 1}}), "bad metric name \"1m\"",
       "timeseries[1].labels"},
      {"bad label name", series({{"__name__", "m"}, {"a-b", "1"}}, {{1, 1}}), "bad label name \"a-b\"",
       "timeseries[0].labels"},
      {"empty label name", series({{"__name__", "m"}, {"", "1"}}, {{1, 1}}), "bad label name \"\"", "timeseries[0].labels"},
      {"duplicate label", series({{"__name__", "m"}, {"a", "1"}, {"a", "2"}}, {{1, 1}}), "duplicate label name \"a\"",
       "timeseries[0].labels"},
      {"value not UTF-8", series({{"__name__", "m"}, {"a", "\xff\xfe"}}, {{1, 1}}), "not valid UTF-8",
       "timeseries[0].labels"},
      {"name not UTF-8", series({{"__name__", "m"}, {"\xc3", "x"}}, {{1, 1}}), "bad label name \"<not UTF-8>\"",
       "timeseries[0].labels"},
      {"stray end group", tag(7, 4), "end of group 7 without a start at byte 0", ""},
      {"unclosed group", tag(7, 3) + tag(8, 0) + varint(1), "group 7 is not closed at byte 0", ""},
      {"mismatched group end", tag(7, 3) + tag(8, 4), "end of group 8 inside group 7 at byte 1", ""},
      {"groups too deep", deep, "groups nested deeper than 32", ""},
      {"truncated fixed32", tag(9, 5) + "ab", "truncated 4-byte value (2 bytes left)", ""},
  };
  for (const auto& c : cases) {
    auto r = decode_write_request(c.protobuf);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << c.name << " -> " << r.error().message();
    EXPECT_EQ(r.error().field(), c.field) << c.name << " -> " << r.error().to_string();
    EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalidArgument) << c.name;
  }
}

TEST(RemoteWrite, RejectsBadSnappy) {
  struct Case {
    std::string name;
    std::string body;
    std::string message;
  };
  std::string truncated = compress(series({{"__name__", "m"}}, {{1, 1}}));
  truncated.resize(truncated.size() - 3);
  const Case cases[] = {
      {"empty body", "", "empty body"},
      {"bad header", "\xff\xff\xff\xff\xff\xff", "snappy: corrupt length header"},
      {"truncated", truncated, "snappy: corrupt compressed data"},
      {"plain protobuf", series({{"__name__", "m"}}, {{1, 1}}), ""},  // fails in snappy or in decoding
      {"too large", varint(uint64_t{1} << 30) + std::string(size_t{1} << 26, '\0'), "exceeds the limit"},
      {"impossible ratio", varint(uint64_t{1} << 20) + "\x08" "ab", "1048576 bytes claimed from 6 compressed"},
  };
  for (const auto& c : cases) {
    auto r = parse_remote_write(c.body);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << c.name << " -> " << r.error().message();
  }
  auto small = snappy_decompress(compress(std::string(100, 'a')), 99);
  ASSERT_FALSE(small.has_value());
  EXPECT_NE(small.error().message().find("decoded size 100 bytes exceeds the limit of 99 bytes"), std::string::npos);
}

TEST(RemoteWrite, DecodesAPrometheusBody) {
  using namespace std::string_literals;
  // A WriteRequest as Prometheus 2.x sends it, laid out byte by byte: one series
  // {__name__="up", job="node"} with the sample 1 @ 1700000000000.
  const std::string req = "\x0a\x2f"                          // timeseries, 47 bytes
                          "\x0a\x0e\x0a\x08__name__\x12\x02up"  // label __name__="up"
                          "\x0a\x0b\x0a\x03job\x12\x04node"    // label job="node"
                          "\x12\x10\x09\x00\x00\x00\x00\x00\x00\xf0\x3f"  // sample value 1.0
                          "\x10\x80\xd0\x95\xff\xbc\x31"s;       // timestamp 1700000000000
  auto r = decode_write_request(req);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].labels, (core::Labels{{"__name__", "up"}, {"job", "node"}}));
  EXPECT_DOUBLE_EQ((*r)[0].points[0].value, 1.0);
  EXPECT_EQ(core::to_unix_ms((*r)[0].points[0].ts), 1700000000000);
}

}  // namespace
}  // namespace tocsin::ingest
