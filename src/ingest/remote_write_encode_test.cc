#include "ingest/remote_write_encode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tocsin::ingest {
namespace {

TEST(RemoteWriteEncode, RoundTripsThroughTheDecoder) {
  std::vector<Series> sent;
  sent.push_back({core::Labels{{"__name__", "http_requests_total"}, {"job", "api"}, {"instance", "a:9100"}},
                  {{1.5, core::from_unix_ms(1'700'000'000'000)}, {2.5, core::from_unix_ms(1'700'000'015'000)}}});
  sent.push_back({core::Labels{{"__name__", "up"}, {"note", std::string(300, 'x')}},  // a length over one varint byte
                  {{-0.0, core::from_unix_ms(0)}, {1e300, core::from_unix_ms(1)}}});
  sent.push_back({core::Labels{{"__name__", "temp"}, {"city", "Zürich"}},
                  {{std::numeric_limits<double>::infinity(), core::from_unix_ms(5)}}});
  auto body = encode_remote_write(sent);
  auto raw = snappy_decompress(body);
  ASSERT_TRUE(raw.has_value()) << raw.error().to_string();
  EXPECT_EQ(*raw, encode_write_request(sent));
  auto got = decode_write_request(*raw);
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  ASSERT_EQ(got->size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ((*got)[i].labels, sent[i].labels) << i;
    ASSERT_EQ((*got)[i].points.size(), sent[i].points.size()) << i;
    for (size_t j = 0; j < sent[i].points.size(); ++j) {
      EXPECT_EQ((*got)[i].points[j].ts, sent[i].points[j].ts) << i << "," << j;
      EXPECT_EQ(std::signbit((*got)[i].points[j].value), std::signbit(sent[i].points[j].value));
      EXPECT_EQ((*got)[i].points[j].value, sent[i].points[j].value) << i << "," << j;
    }
  }
}

TEST(RemoteWriteEncode, ManySeriesAndNaN) {
  std::vector<Series> sent;
  for (int i = 0; i < 1000; ++i) {
    Series s{core::Labels{{"__name__", "m"}, {"i", std::to_string(i)}}, {}};
    for (int j = 0; j < 10; ++j) s.points.push_back({i * 0.5 + j, core::from_unix_ms(1'700'000'000'000 + j * 1000)});
    sent.push_back(std::move(s));
  }
  sent[7].points[3].value = std::numeric_limits<double>::quiet_NaN();  // a stale marker goes through as sent
  auto got = parse_remote_write(encode_remote_write(sent));
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  ASSERT_EQ(got->size(), 10'000u);
  EXPECT_TRUE(std::isnan((*got)[73].value));
  EXPECT_EQ((*got)[9'999].labels, sent[999].labels);
  EXPECT_EQ((*got)[9'999].value, 999 * 0.5 + 9);
}

TEST(RemoteWriteEncode, EmptyRequest) {
  auto got = decode_write_request(encode_write_request({}));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->empty());
}

}  // namespace
}  // namespace tocsin::ingest
