#include <gtest/gtest.h>

#include "core/log.h"
#include "core/metrics.h"

namespace tocsin::core {
namespace {

TEST(Metrics, RendersPrometheusText) {
  MetricsRegistry r;
  r.counter("tocsin_samples_total", "Samples accepted.", Labels{{"source", "push"}}).inc(3);
  r.counter("tocsin_samples_total", "Samples accepted.", Labels{{"source", "push"}}).inc();
  r.gauge("tocsin_open_incidents", "Open incidents.").set(2);
  auto& h = r.histogram("tocsin_http_seconds", "Latency.", Labels{{"route", "/x"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  EXPECT_EQ(r.render(),
            "# HELP tocsin_http_seconds Latency.\n"
            "# TYPE tocsin_http_seconds histogram\n"
            "tocsin_http_seconds_bucket{le=\"0.1\",route=\"/x\"} 1\n"
            "tocsin_http_seconds_bucket{le=\"1\",route=\"/x\"} 2\n"
            "tocsin_http_seconds_bucket{le=\"+Inf\",route=\"/x\"} 3\n"
            "tocsin_http_seconds_sum{route=\"/x\"} 5.55\n"
            "tocsin_http_seconds_count{route=\"/x\"} 3\n"
            "# HELP tocsin_open_incidents Open incidents.\n"
            "# TYPE tocsin_open_incidents gauge\n"
            "tocsin_open_incidents 2\n"
            "# HELP tocsin_samples_total Samples accepted.\n"
            "# TYPE tocsin_samples_total counter\n"
            "tocsin_samples_total{source=\"push\"} 4\n");
}

TEST(Log, FormatsLogfmt) {
  EXPECT_EQ(log::format_fields("alert fired", {{"rule", "HighLoad"}, {"value", "a \"b\""}}),
            R"(msg="alert fired" rule=HighLoad value="a \"b\"")");
  EXPECT_EQ(log::format_fields("x", {{"empty", ""}}), R"(msg=x empty="")");
}

}  // namespace
}  // namespace tocsin::core

namespace tocsin::core {
namespace {

TEST(Metrics, CollectorsRenderUntilRemoved) {
  MetricsRegistry r;
  const auto id = r.add_collector([] { return std::string("extra_metric 1\n"); });
  EXPECT_NE(r.render().find("extra_metric 1"), std::string::npos);
  r.remove_collector(id);
  EXPECT_EQ(r.render().find("extra_metric"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::core
