#include "cli/risk_history_command.h"

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <set>

#include "config/loader.h"
#include "risk/table.h"
#include "server/store_factory.h"

namespace tocsin::cli {

namespace {

int fail(const std::string& message) {
  std::cerr << "tocsin risk history: " << message << "\n";
  return 1;
}

// Seconds between two times, or empty (a missing value for the cleaning step) when `to` is unset.
std::string seconds_between(core::Timestamp from, const std::optional<core::Timestamp>& to) {
  if (!to) return "";
  return fmt::format("{}", std::chrono::duration_cast<std::chrono::seconds>(*to - from).count());
}

}  // namespace

std::string history_csv(const std::vector<store::Incident>& incidents) {
  std::string out = "id,opened_at,weekday,hour,severity,alerts,services,ack_seconds,resolve_seconds,incident_type\n";
  for (const auto& inc : incidents) {
    if (!inc.drill.empty()) continue;
    const auto day = std::chrono::floor<std::chrono::days>(inc.opened_at);
    const std::chrono::weekday weekday{std::chrono::sys_days(day)};
    const auto hour = std::chrono::duration_cast<std::chrono::hours>(inc.opened_at - day).count();
    std::set<std::string> services;
    for (const auto& a : inc.alerts) {
      if (auto s = a.labels.get("service")) services.insert(std::string(*s));
    }
    std::string joined;
    for (const auto& s : services) joined += (joined.empty() ? "" : " ") + s;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", inc.id, risk::csv_field(core::format_rfc3339(inc.opened_at)),
                       weekday.c_encoding(), hour, risk::csv_field(inc.severity), inc.alerts.size(),
                       risk::csv_field(joined), seconds_between(inc.opened_at, inc.acknowledged_at),
                       seconds_between(inc.opened_at, inc.resolved_at),
                       risk::csv_field(inc.plan.empty() ? "none" : inc.plan));
  }
  return out;
}

int run_risk_history(const RiskHistoryCommand& command) {
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string());
  const auto db = std::filesystem::path(cfg->server.data_dir) / "tocsin.db";
  if (cfg->server.store.empty() && !std::filesystem::exists(db)) {
    return fail(fmt::format("no store at {}: has `tocsin serve` run with this config?", db.string()));
  }
  auto store = server::open_store(cfg->server);
  if (!store) return fail(store.error().to_string());
  std::vector<store::Incident> incidents;
  auto st = (*store)->read([&](store::Tx& tx) -> core::Status {
    store::IncidentFilter filter;
    filter.limit = 1000000;
    filter.with_details = true;
    incidents = TOCSIN_TRY(tx.list_incidents(filter));
    return {};
  });
  if (!st) return fail(st.error().to_string());
  std::reverse(incidents.begin(), incidents.end());  // oldest first
  const std::string csv = history_csv(incidents);
  if (command.out.empty()) {
    std::cout << csv;
  } else {
    std::ofstream f(command.out, std::ios::binary);
    f << csv;
    if (!f) return fail(fmt::format("cannot write {}", command.out));
    std::cerr << fmt::format("{} incidents written to {}\n", incidents.size(), command.out);
  }
  return 0;
}

}  // namespace tocsin::cli
