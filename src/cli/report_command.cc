#include "cli/report_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/compliance_json.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/log.h"
#include "engine/compliance.h"
#include "report/action_items.h"
#include "report/kpi.h"
#include "report/postmortem.h"
#include "server/store_factory.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::cli {
namespace {

int fail(const std::string& what, std::string_view command = "postmortem") {
  fmt::print(stderr, "tocsin report {}: {}\n", command, what);
  return 1;
}

// The config's store, opened only when it exists (reports never create one): the SQLite file under
// data_dir, or the PostgreSQL database of server.store.
core::Result<std::unique_ptr<store::Store>> open_existing_store(const config::Config& cfg) {
  if (!cfg.server.store.empty()) return server::open_store(cfg.server);
  const std::filesystem::path db = std::filesystem::path(cfg.server.data_dir) / "tocsin.db";
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) {
    return std::unexpected(
        core::Error::not_found(fmt::format("no store at {} (nothing has run with this config yet)", db.string())));
  }
  auto store = store::sqlite::open_sqlite_store(db);
  if (!store) return std::unexpected(core::Error::unavailable(fmt::format("{}: {}", db.string(), store.error().to_string())));
  return std::move(*store);
}

// An RFC 3339 time or a duration back from now, as GET /api/v1/audit takes it.
core::Result<core::Timestamp> parse_time_or_ago(std::string_view flag, const std::string& value, core::Timestamp now) {
  if (auto t = core::parse_time_or_ago(value, now)) return *t;
  return std::unexpected(core::Error::invalid_argument(
      fmt::format("bad {} \"{}\": expected an RFC 3339 time or a duration like 7d", flag, value)));
}

}  // namespace

int run_report_postmortem(const PostmortemCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  if (command.format != "md" && command.format != "html") {
    return fail(fmt::format("bad --format \"{}\": expected md or html", command.format));
  }
  if (command.id <= 0) return fail(fmt::format("bad incident id {}: expected a positive integer", command.id));
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string());
  auto store = open_existing_store(*cfg);
  if (!store) return fail(store.error().message());
  core::Result<report::PostmortemInput> input = std::unexpected(core::Error::internal("unread"));
  auto read = (*store)->read([&](store::Tx& tx) -> core::Status {
    input = report::read_postmortem_input(tx, command.id);
    return {};
  });
  if (!read) return fail(read.error().to_string());
  if (!input) return fail(input.error().message());
  const report::Postmortem pm = report::postmortem_draft(*input, cfg->plan(input->incident.plan), cfg->rules);
  const std::string out = command.format == "html" ? report::render_html(pm) : report::render_markdown(pm);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_report_kpi(const KpiCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  std::map<std::string, std::string> params;
  if (!command.since.empty()) params["since"] = command.since;
  if (!command.until.empty()) params["until"] = command.until;
  if (!command.by.empty()) params["by"] = command.by;
  if (!command.period.empty()) params["period"] = command.period;
  if (!command.scope.empty()) params["scope"] = command.scope;
  core::SystemClock clock;
  auto query = report::parse_kpi_query(params, clock.now());
  if (!query) return fail(fmt::format("--{}: {}", query.error().field(), query.error().message()), "kpi");
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string(), "kpi");
  auto store = open_existing_store(*cfg);
  if (!store) return fail(store.error().message(), "kpi");
  report::KpiRecords records;
  auto read = (*store)->read([&](store::Tx& tx) -> core::Status {
    records = TOCSIN_TRY(report::read_kpi_records(tx, query->since, query->until));
    return {};
  });
  if (!read) return fail(read.error().to_string(), "kpi");
  const report::KpiReport kpis = report::compute_kpis(records, *query);
  const std::string out = command.json ? report::kpi_json(kpis) + "\n" : report::render_kpi_text(kpis);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_report_action_items(const ActionItemsCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  report::ActionItemQuery query;
  if (command.status == "all") {
    query.status.reset();
  } else if (auto status = store::parse_action_item_status(command.status)) {
    query.status = *status;
  } else {
    return fail(fmt::format("bad --status \"{}\": expected open, done or all", command.status), "action-items");
  }
  query.owner = command.owner;
  query.overdue = command.overdue;
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string(), "action-items");
  auto store = open_existing_store(*cfg);
  if (!store) return fail(store.error().message(), "action-items");
  core::SystemClock clock;
  const core::Timestamp now = clock.now();
  core::Result<std::vector<report::ActionItemRow>> rows = std::unexpected(core::Error::internal("unread"));
  auto read = (*store)->read([&](store::Tx& tx) -> core::Status {
    rows = report::read_action_items(tx, query, now);
    return {};
  });
  if (!read) return fail(read.error().to_string(), "action-items");
  if (!rows) return fail(rows.error().message(), "action-items");
  const std::string out = command.json
                              ? report::action_items_json(*rows, now).dump(-1, ' ', false,
                                                                           nlohmann::json::error_handler_t::replace) +
                                    "\n"
                              : report::render_action_items_text(*rows, now);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_report_audit(const AuditCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  const core::Timestamp now = core::SystemClock().now();
  store::AuditFilter filter;
  filter.actor = command.actor;
  filter.action = command.action;
  if (!command.since.empty()) {
    auto t = parse_time_or_ago("--since", command.since, now);
    if (!t) return fail(t.error().message(), "audit");
    filter.since = *t;
  }
  if (!command.until.empty()) {
    auto t = parse_time_or_ago("--until", command.until, now);
    if (!t) return fail(t.error().message(), "audit");
    filter.until = *t;
  }
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string(), "audit");
  auto db = open_existing_store(*cfg);
  if (!db) return fail(db.error().message(), "audit");
  std::vector<store::AuditEntry> entries;
  auto read = (*db)->read([&](store::Tx& tx) -> core::Status {
    entries = TOCSIN_TRY(tx.list_audit(filter));
    return {};
  });
  if (!read) return fail(read.error().to_string(), "audit");
  std::string out;
  if (command.csv) {
    out = api::audit_csv(entries);
  } else {
    for (const auto& e : entries) {
      out += fmt::format("{}  {:<12} {:<22} {:<24} {}{}\n", core::format_rfc3339(e.at), e.actor.empty() ? "-" : e.actor,
                         e.action, e.object, e.detail, e.source.empty() ? "" : fmt::format("  [{}]", e.source));
    }
    if (entries.empty()) out = "no audit entries\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_report_compliance(const ComplianceCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string(), "compliance");
  auto db = open_existing_store(*cfg);
  if (!db) return fail(db.error().message(), "compliance");
  // Whole seconds: the report is about days and hours.
  const core::Timestamp now = std::chrono::floor<std::chrono::seconds>(core::SystemClock().now());
  core::Result<engine::ComplianceReport> report = std::unexpected(core::Error::internal("unread"));
  auto read = (*db)->read([&](store::Tx& tx) -> core::Status {
    report = engine::compliance_report(tx, *cfg, now);
    return {};
  });
  if (!read) return fail(read.error().to_string(), "compliance");
  if (!report) return fail(report.error().to_string(), "compliance");
  std::string out;
  if (command.json) {
    out = api::compliance_json(*report).dump(2) + "\n";
  } else {
    const auto& s = report->summary;
    out += fmt::format(
        "compliance at {}: {} review(s) overdue, {} due soon; {} drill(s) overdue; clocks: {} met, {} "
        "missed, {} running\n",
        core::format_rfc3339(report->at), s.reviews_overdue, s.reviews_due_soon, s.drills_overdue, s.clocks_met,
        s.clocks_missed, s.clocks_running);
    if (!report->reviews.empty()) out += "\nplan reviews\n";
    for (const auto& r : report->reviews) {
      out += fmt::format("  {:<20} every {:<6} {}\n", r.plan, core::format_duration(r.every),
                         !r.reviewed  ? "never reviewed: OVERDUE"
                         : r.overdue  ? fmt::format("OVERDUE since {}", core::format_rfc3339(r.due_at))
                         : r.due_soon ? fmt::format("due soon: {}", core::format_rfc3339(r.due_at))
                                      : fmt::format("due {}", core::format_rfc3339(r.due_at)));
    }
    if (!report->drills.empty()) out += "\ndrills\n";
    for (const auto& d : report->drills) {
      out += fmt::format("  {:<20} every {:<6} {}\n", d.plan, core::format_duration(d.every),
                         !d.last_run ? "never drilled: OVERDUE"
                         : d.overdue ? fmt::format("OVERDUE since {}", core::format_rfc3339(d.next_due))
                                     : fmt::format("next due {}", core::format_rfc3339(d.next_due)));
    }
    if (!report->clocks.empty()) out += "\nplan clocks with a deadline\n";
    for (const auto& c : report->clocks) {
      std::string state = std::string(engine::to_string(c.outcome));
      if (c.satisfied_at) state += fmt::format(" ({} at {})", c.satisfied_by, core::format_rfc3339(*c.satisfied_at));
      if (c.time_left) state += fmt::format(" ({} left)", core::format_duration(*c.time_left));
      out += fmt::format("  incident {:<5} {:<22} started {}  deadline {}  {}\n", c.incident_id, c.clock,
                         core::format_rfc3339(c.started_at), core::format_rfc3339(c.deadline), state);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace tocsin::cli
