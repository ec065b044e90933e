// The series read API and the charts (docs/charts.md, docs/api.md):
//   GET /api/v1/series?match=&start=&end=&limit=          recent samples of matching series
//   GET /api/v1/series/chart.svg?…                        the same, drawn (values only)
//   GET /api/v1/rules/{name}/series?match=&start=&end=&limit=
//       a rule's series with the band each sample was judged against, score and decision —
//       replayed through a fresh detector from the stored window (detect/replay.h) — and the
//       alert's firing spans from the store's alert records
//   GET /api/v1/rules/{name}/chart.svg?…                  the same, drawn, one panel per series
//   GET /api/v1/drills/chart.svg?plan=&since=             drill scores per day (trend chart)
// Reads take the series store's lock per series and one store read transaction, never the
// engine mutex (Engine::read_series).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "api/router.h"
#include "chart/series_chart.h"
#include "chart/thin.h"
#include "chart/trend.h"
#include "core/duration.h"
#include "detect/replay.h"
#include "tsdb/expr.h"

namespace tocsin::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

constexpr size_t kMaxPoints = 1000;  // per series in JSON, after thinning
constexpr int64_t kDefaultRangeMs = 3'600'000;

Response from_error(const core::Error& e) { return Response::error(http_status(e), e.message(), e.field()); }

Response svg_response(std::string body) {
  Response r = Response::text(200, std::move(body), "image/svg+xml");
  r.headers = {{"Cache-Control", "no-store"}};
  return r;
}

// An RFC 3339 time, or unix milliseconds (an integer).
core::Result<core::Timestamp> parse_time(std::string_view value, const char* field) {
  if (auto t = core::parse_rfc3339(value)) return *t;
  int64_t ms = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
  if (ec == std::errc() && ptr == value.data() + value.size() && !value.empty()) return core::from_unix_ms(ms);
  return std::unexpected(
      core::Error::invalid_argument(fmt::format("bad {} \"{}\": expected an RFC 3339 time like 2026-12-04T10:00:00Z or "
                                                "unix milliseconds",
                                                field, value))
          .field(field));
}

struct SeriesQuery {
  std::optional<tsdb::SelectExpr> match;
  core::Timestamp start{}, end{};
  size_t limit = 20;
};

// Reads match, start, end and limit (defaults: the last hour up to now, 20 series); anything
// else is an error naming it. `max_limit` bounds limit.
core::Result<SeriesQuery> parse_series_query(const Request& request, core::Timestamp now, size_t default_limit,
                                             size_t max_limit) {
  SeriesQuery q;
  q.limit = default_limit;
  std::optional<core::Timestamp> start, end;
  for (const auto& [key, value] : request.query) {
    if (key == "match") {
      auto expr = tsdb::parse_select_expr(value);
      if (!expr) {
        return std::unexpected(core::Error::invalid_argument(
                                   fmt::format("bad match \"{}\": {}; expected a PromQL instant-vector selector like "
                                               "http_latency_ms{{job=\"api\"}}",
                                               value, expr.error().message()))
                                   .field("match"));
      }
      if (expr->function != tsdb::Function::kNone) {
        return std::unexpected(
            core::Error::invalid_argument(fmt::format("bad match \"{}\": expected an instant-vector selector, not a "
                                                      "function; the samples are returned as stored",
                                                      value))
                .field("match"));
      }
      q.match = std::move(*expr);
    } else if (key == "start") {
      start = TOCSIN_TRY(parse_time(value, "start"));
    } else if (key == "end") {
      end = TOCSIN_TRY(parse_time(value, "end"));
    } else if (key == "limit") {
      size_t limit = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || ptr != value.data() + value.size() || limit == 0 || limit > max_limit) {
        return std::unexpected(
            core::Error::invalid_argument(
                fmt::format("bad limit \"{}\": expected an integer from 1 to {} (series)", value, max_limit))
                .field("limit"));
      }
      q.limit = limit;
    } else {
      return std::unexpected(core::Error::invalid_argument(
                                 fmt::format("unknown query parameter \"{}\": expected match, start, end, limit", key))
                                 .field(key));
    }
  }
  q.end = end.value_or(now);
  q.start = start.value_or(q.end - core::Duration(kDefaultRangeMs));
  if (q.end < q.start) {
    return std::unexpected(
        core::Error::invalid_argument(
            fmt::format("end {} is before start {}", core::format_rfc3339(q.end), core::format_rfc3339(q.start)))
            .field("end"));
  }
  return q;
}

json labels_json(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

// A panel's title as PromQL writes a series: name{label="value", …}.
std::string series_title(const core::Labels& labels) {
  std::string rest;
  for (const auto& l : labels) {
    if (l.name == "__name__") continue;
    rest += fmt::format("{}{}=\"{}\"", rest.empty() ? "" : ", ", l.name, l.value);
  }
  return fmt::format("{}{{{}}}", labels.get_or("__name__", ""), rest);
}

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::vector<size_t> thin_points(const std::vector<tsdb::Point>& pts) {
  return chart::thin_indices(
      pts.size(), kMaxPoints, [&](size_t i) { return core::to_unix_ms(pts[i].ts); },
      [&](size_t i) { return pts[i].value; });
}

// One rule series: the replayed points in [start, end] and the alert's firing span.
struct RuleSeries {
  core::Labels labels;
  std::vector<detect::ReplayedPoint> points;
  std::vector<chart::FiringSpan> firing;
};

}  // namespace

Response Router::series_route(const Request& request, std::string_view rest) {
  if (rest != "" && rest != "/chart.svg")
    return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  if (request.method != "GET") return Response::error(405, "use GET");
  const bool svg = rest == "/chart.svg";
  auto q = parse_series_query(request, clock_.now(), svg ? 10 : 20, svg ? 50 : 1000);
  if (!q) return from_error(q.error());
  if (!q->match) {
    return Response::error(400, "missing match: expected a PromQL instant-vector selector like up{job=\"api\"}",
                           "match");
  }
  const engine::SeriesRead read = engine_.read_series(q->match->matchers, q->start, q->end, q->limit);
  if (svg) {
    chart::SeriesChart c;
    c.title = q->match->to_string();
    c.subtitle = "stored samples (values only)";
    c.start_ms = core::to_unix_ms(q->start);
    c.end_ms = core::to_unix_ms(q->end);
    for (const auto& s : read.series) {
      chart::SeriesPanel panel{series_title(s.labels), {}, {}};
      for (const auto& p : s.points)
        panel.points.push_back({core::to_unix_ms(p.ts), p.value, std::nullopt, std::nullopt});
      c.panels.push_back(std::move(panel));
    }
    if (read.truncated) c.note = fmt::format("only the first {} series are shown (limit)", q->limit);
    return svg_response(chart::render_series_svg(c));
  }
  json series = json::array();
  for (const auto& s : read.series) {
    const auto keep = thin_points(s.points);
    json points = json::array();
    for (size_t i : keep) points.push_back({core::to_unix_ms(s.points[i].ts), finite_or_null(s.points[i].value)});
    series.push_back(
        {{"labels", labels_json(s.labels)}, {"points", std::move(points)}, {"thinned", keep.size() < s.points.size()}});
  }
  return Response::json(200, json{{"series", std::move(series)}, {"truncated", read.truncated}}.dump(
                                 -1, ' ', false, json::error_handler_t::replace));
}

Response Router::rule_series_route(const Request& request, std::string_view rest) {
  const size_t slash = rest.rfind('/');
  const std::string_view what = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (slash == std::string_view::npos || slash == 0 || (what != "series" && what != "chart.svg")) {
    return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  }
  if (request.method != "GET") return Response::error(405, "use GET");
  const std::string name(rest.substr(0, slash));
  const auto config = engine_.shared_config();
  const config::Rule* rule = nullptr;
  for (const auto& r : config->rules) {
    if (r.name == name) rule = &r;
  }
  if (!rule) return Response::error(404, fmt::format("no rule \"{}\" (GET /api/v1/rules lists them)", name), "name");
  const bool svg = what == "chart.svg";
  auto q = parse_series_query(request, clock_.now(), svg ? 10 : 20, svg ? 50 : 1000);
  if (!q) return from_error(q.error());
  auto spec = detect::DetectorRegistry::builtin().create(rule->detector);
  if (!spec) return Response::error(500, fmt::format("rule \"{}\": {}", name, spec.error().message()));

  // The rule's series (its selector and the optional extra one), each with its whole stored
  // window up to `end`: the replay warms up on it.
  std::vector<core::Matcher> matchers = rule->selector;
  if (q->match) matchers.insert(matchers.end(), q->match->matchers.begin(), q->match->matchers.end());
  const engine::SeriesRead read = engine_.read_series(matchers, q->start, q->end, q->limit,
                                                      core::from_unix_ms(std::numeric_limits<int64_t>::min() / 2));
  std::vector<RuleSeries> series;
  std::map<uint64_t, size_t> by_alert;  // alert fingerprint → index in series
  for (const auto& s : read.series) {
    RuleSeries rs{s.labels, {}, {}};
    for (auto& p : detect::replay(**spec, rule->expr, s.points)) {
      if (p.ts >= q->start) rs.points.push_back(p);
    }
    by_alert[detect::alert_labels(*rule, s.labels).fingerprint()] = series.size();
    series.push_back(std::move(rs));
  }
  // Firing spans from the alert records (what the live rule engine decided, with `for`).
  auto listed = [&]() -> core::Status {
    std::vector<store::AlertRecord> alerts;
    TOCSIN_TRY(engine_.read_store([&](store::Tx& tx) -> core::Status {
      alerts = TOCSIN_TRY(tx.list_alerts(std::nullopt));
      return {};
    }));
    for (const auto& a : alerts) {
      if (a.rule != name || !a.fired_at) continue;
      auto it = by_alert.find(a.fingerprint);
      if (it == by_alert.end()) continue;
      std::optional<int64_t> end;
      if (a.state == store::AlertState::kResolved) end = core::to_unix_ms(a.resolved_at.value_or(a.updated_at));
      if (end && *end < core::to_unix_ms(q->start)) continue;
      if (*a.fired_at > q->end) continue;
      series[it->second].firing.push_back({core::to_unix_ms(*a.fired_at), end});
    }
    return {};
  }();
  if (!listed) return from_error(listed.error());

  if (svg) {
    chart::SeriesChart c;
    c.title = fmt::format("{}: {}", rule->name, rule->select);
    c.subtitle =
        fmt::format("{} (bounds replayed from the stored samples; the first ones are warm-up)", (*spec)->describe());
    c.start_ms = core::to_unix_ms(q->start);
    c.end_ms = core::to_unix_ms(q->end);
    for (const auto& s : series) {
      chart::SeriesPanel panel{series_title(s.labels), {}, s.firing};
      for (const auto& p : s.points) {
        panel.points.push_back({core::to_unix_ms(p.ts), p.value,
                                p.bounds ? std::optional(p.bounds->first) : std::nullopt,
                                p.bounds ? std::optional(p.bounds->second) : std::nullopt});
      }
      c.panels.push_back(std::move(panel));
    }
    if (read.truncated) c.note = fmt::format("only the first {} series are shown (limit)", q->limit);
    return svg_response(chart::render_series_svg(c));
  }
  json out_series = json::array();
  for (const auto& s : series) {
    const auto keep = chart::thin_indices(
        s.points.size(), kMaxPoints, [&](size_t i) { return core::to_unix_ms(s.points[i].ts); },
        [&](size_t i) { return s.points[i].value; });
    json points = json::array();
    for (size_t i : keep) {
      const auto& p = s.points[i];
      points.push_back({{"ts", core::to_unix_ms(p.ts)},
                        {"value", finite_or_null(p.value)},
                        {"lower", p.bounds ? finite_or_null(p.bounds->first) : json(nullptr)},
                        {"upper", p.bounds ? finite_or_null(p.bounds->second) : json(nullptr)},
                        {"score", p.score},
                        {"firing", p.crossing}});
    }
    json spans = json::array();
    for (const auto& f : s.firing)
      spans.push_back({{"start", f.start_ms}, {"end", f.end_ms ? json(*f.end_ms) : json(nullptr)}});
    out_series.push_back({{"labels", labels_json(s.labels)},
                          {"points", std::move(points)},
                          {"thinned", keep.size() < s.points.size()},
                          {"firing_spans", std::move(spans)}});
  }
  const json body = {{"rule", rule->name},
                     {"select", rule->select},
                     {"detector", (*spec)->describe()},
                     {"start", core::to_unix_ms(q->start)},
                     {"end", core::to_unix_ms(q->end)},
                     {"series", std::move(out_series)},
                     {"truncated", read.truncated}};
  return Response::json(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Drill scores over time: one bucket per UTC day with a run, one line per scenario, the mean
// score of that day's runs.
Response Router::drills_chart(const Request& request) {
  if (request.method != "GET") return Response::error(405, "use GET");
  store::DrillRunFilter filter;
  filter.limit = 1000;
  for (const auto& [key, value] : request.query) {
    if (key == "plan") {
      if (!engine_.config().plan(value)) {
        return Response::error(404, fmt::format("no plan \"{}\" (GET /api/v1/plans lists them)", value), "plan");
      }
      filter.plan = value;
    } else if (key == "since") {
      auto t = core::parse_time_or_ago(value, clock_.now());
      if (!t) {
        return Response::error(
            400, fmt::format("bad since \"{}\": expected an RFC 3339 time or a duration like 90d", value), "since");
      }
      filter.since = *t;
    } else {
      return Response::error(400, fmt::format("unknown query parameter \"{}\": expected plan, since", key), key);
    }
  }
  auto runs = engine_.list_drill_runs(filter);
  if (!runs) return from_error(runs.error());
  auto day_of = [](core::Timestamp t) {
    const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()));
  };
  std::set<std::string> days;
  std::map<std::string, std::map<std::string, std::pair<double, int>>> sums;  // scenario → day → (sum, n)
  for (const auto& r : *runs) {
    const std::string day = day_of(r.ran_at);
    days.insert(day);
    auto& [sum, n] = sums[r.scenario][day];
    sum += r.score;
    ++n;
  }
  chart::TrendChart c;
  c.title = filter.plan.empty() ? "Drill scores" : fmt::format("Drill scores: plan {}", filter.plan);
  c.subtitle = fmt::format("mean score (0–100) per day and scenario, {} runs", runs->size());
  c.y_label = "score";
  c.buckets.assign(days.begin(), days.end());
  for (const auto& [scenario, by_day] : sums) {
    chart::TrendLine line{scenario, {}};
    for (const auto& day : c.buckets) {
      auto it = by_day.find(day);
      line.values.push_back(it == by_day.end() ? std::nullopt : std::optional(it->second.first / it->second.second));
    }
    c.lines.push_back(std::move(line));
  }
  return svg_response(chart::render_trend_svg(c));
}

}  // namespace tocsin::api
