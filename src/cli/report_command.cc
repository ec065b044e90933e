#include "cli/report_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "core/clock.h"
#include "core/log.h"
#include "report/action_items.h"
#include "report/kpi.h"
#include "report/postmortem.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::cli {
namespace {

int fail(const std::string& what, std::string_view command = "postmortem") {
  fmt::print(stderr, "tocsin report {}: {}\n", command, what);
  return 1;
}

// The store under the config's data_dir, opened only when it exists (reports never create one).
core::Result<std::unique_ptr<store::Store>> open_existing_store(const config::Config& cfg) {
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
  const report::Postmortem pm = report::postmortem_draft(*input, cfg->plan(input->incident.plan));
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

}  // namespace tocsin::cli
