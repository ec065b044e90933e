#include "cli/detect_command.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "chart/detect_plot.h"

namespace tocsin::cli {
namespace {

std::unique_ptr<detect::DetectorSpec> spec_of(std::string_view kind, std::vector<std::string> params) {
  auto cfg = detector_config(kind, params);
  EXPECT_TRUE(cfg.has_value());
  auto spec = detect::DetectorRegistry::builtin().create(*cfg);
  EXPECT_TRUE(spec.has_value()) << spec.error().to_string();
  return std::move(*spec);
}

struct Scored {
  std::string out;
  core::Result<ScoreResult> points;
};

Scored run(const std::string& csv, const detect::DetectorSpec& spec, bool keep = true) {
  std::istringstream in(csv);
  std::ostringstream out;
  auto points = score_csv(in, out, spec, {"data.csv", keep, {}});
  return {out.str(), std::move(points)};
}

TEST(DetectCommand, ParsesTimestampShapes) {
  const auto t = core::from_unix_ms(1'397'088'000'000);  // 2014-04-10T00:00:00Z
  EXPECT_EQ(parse_csv_timestamp("2014-04-10 00:00:00").value(), t);
  EXPECT_EQ(parse_csv_timestamp("2014-04-10T00:00:00Z").value(), t);
  EXPECT_EQ(parse_csv_timestamp("2014-04-10T02:00:00+02:00").value(), t);
  EXPECT_EQ(parse_csv_timestamp("2014-04-10").value(), t);
  EXPECT_EQ(parse_csv_timestamp("1397088000").value(), t);
  EXPECT_EQ(parse_csv_timestamp("1397088000000").value(), t);
  EXPECT_EQ(parse_csv_timestamp("1397088000.25").value(), t + core::Duration(250));
  EXPECT_EQ(parse_csv_timestamp("2014-04-10 00:00:00.5").value(), t + core::Duration(500));
  for (const char* bad : {"", "abc", "2014-13-10 00:00:00", "2014-04-10 25:00", "12:00", "1e9x"}) {
    auto r = parse_csv_timestamp(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message().find("bad timestamp"), std::string::npos);
  }
}

TEST(DetectCommand, ParamsBecomeDetectorConfig) {
  auto cfg = detector_config("sigma", {"n=2.5", "window=1h", "sample=true"});
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->params.at("n").number, 2.5);
  EXPECT_FALSE(cfg->params.at("window").number.has_value());
  EXPECT_EQ(cfg->params.at("window").text, "1h");
  EXPECT_FALSE(detector_config("sigma", {"n"}).has_value());
  EXPECT_FALSE(detector_config("sigma", {"n=1", "n=2"}).has_value());
  auto wrong = detect::DetectorRegistry::builtin().create(*detector_config("sigma", {"window=soon"}));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().to_string(),
            "--param window=soon: detector.window: expected a duration such as 30s, 5m or 1h, got \"soon\"");
}

TEST(DetectCommand, RoundTripEchoesTimestampsAndValues) {
  auto spec = spec_of("threshold", {"above=5"});
  const Scored r = run("timestamp,value\r\n2014-04-10 00:00:00,1.0\r\n2014-04-10 00:05:00,7\r\n\n1397088900,2.50\n", *spec);
  ASSERT_TRUE(r.points.has_value()) << r.points.error().to_string();
  // scale = 0.5: 1.0 → ½e^(−8); 7 → 1 − ½e^(−4); 2.5 → ½e^(−5).
  EXPECT_EQ(r.out, fmt::format("timestamp,value,anomaly_score\n2014-04-10 00:00:00,1.0,{}\n2014-04-10 00:05:00,7,{}\n"
                               "1397088900,2.50,{}\n",
                               0.5 * std::exp(-8.0), 1 - 0.5 * std::exp(-4.0), 0.5 * std::exp(-5.0)));
  ASSERT_EQ(r.points->points.size(), 3u);
  EXPECT_TRUE(r.points->points[1].firing);
  EXPECT_EQ(r.points->points[1].bounds, std::pair(-HUGE_VAL, 5.0));
}

TEST(DetectCommand, OutOfOrderRowsAreScoredAtTheLatestTime) {
  auto spec = spec_of("threshold", {"above=5"});
  const Scored r = run("timestamp,value\n1397088060,1\n1397088000,9\n1397088120,1\n", *spec);
  ASSERT_TRUE(r.points.has_value());
  EXPECT_EQ(r.points->out_of_order, 1u);
  EXPECT_EQ(r.points->first_out_of_order_line, 3u);
  EXPECT_TRUE(r.out.find("\n1397088000,9,") != std::string::npos);  // echoed as given
  EXPECT_EQ(r.points->points[1].ts, core::from_unix_ms(1397088060'000));
  EXPECT_TRUE(r.points->points[1].firing);
}

TEST(DetectCommand, ColumnsFoundByHeaderName) {
  auto spec = spec_of("threshold", {"above=5"});
  const Scored r = run("value,host,timestamp\n9,a,1397088000\n", *spec);
  ASSERT_TRUE(r.points.has_value()) << r.points.error().to_string();
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1, 13), "1397088000,9,");
}

TEST(DetectCommand, BadLinesNameFileAndLine) {
  auto spec = spec_of("threshold", {"above=5"});
  auto error = [&](const std::string& csv) {
    auto r = run(csv, *spec);
    return r.points ? std::string("no error") : r.points.error().to_string();
  };
  EXPECT_EQ(error("timestamp,value\n1397088000,1\n1397088060,abc\n"), "data.csv:3: bad value \"abc\": expected a number");
  EXPECT_EQ(error("timestamp,value\n1397088000,1\nnot-a-time,2\n"),
            "data.csv:3: bad timestamp \"not-a-time\": expected RFC 3339, \"YYYY-MM-DD HH:MM:SS\" or Unix seconds or "
            "milliseconds");
  EXPECT_EQ(error("timestamp,value\n1397088000\n"), "data.csv:2: expected 2 columns (timestamp,value), got 1");
  EXPECT_EQ(error("2014-04-10 00:00:00,1\n"), "data.csv:1: expected a header line first (timestamp,value)");
  EXPECT_EQ(error(""), "data.csv: empty input: expected a header line and timestamp,value rows");
  EXPECT_EQ(error("timestamp,value\n1397088000,nan\n"), "data.csv:2: bad value \"nan\": expected a number");
}

TEST(DetectCommand, AbsentFiresAtTheSampleThatEndsAGap) {
  auto spec = spec_of("absent", {"after=5m"});
  const Scored r = run("timestamp,value\n0,1\n60,1\n1000,1\n1060,1\n", *spec);
  ASSERT_TRUE(r.points.has_value());
  EXPECT_FALSE(r.points->points[1].firing);
  EXPECT_TRUE(r.points->points[2].firing);
  EXPECT_FALSE(r.points->points[3].firing);
}

TEST(DetectCommand, SvgIsSelfContained) {
  auto spec = spec_of("sigma", {"n=2", "min_samples=5"});
  std::string csv = "timestamp,value\n";
  for (int i = 0; i < 3000; ++i) csv += fmt::format("{},{}\n", 1397088000 + i * 300, i == 2000 ? 50.0 : std::sin(i * 0.1));
  const Scored r = run(csv, *spec);
  ASSERT_TRUE(r.points.has_value());
  const std::string svg = render_detect_svg({"sigma on a.csv", "value outside μ ± 2σ <&>", r.points->points});
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);
  EXPECT_NE(svg.find("&lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#e53935\""), std::string::npos);  // a firing span
  EXPECT_NE(svg.find(">2014-04-12<"), std::string::npos);  // time labels: dates, every 2 days over ten days
  // Thinned: far fewer than 3000 vertices in a line.
  EXPECT_LT(svg.size(), 400'000u);
  const std::string empty = render_detect_svg({"t", "s", {}});
  EXPECT_TRUE(empty.starts_with("<svg"));
}

}  // namespace
}  // namespace tocsin::cli
