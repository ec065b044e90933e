#include "cli/drill_command.h"

#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "config/loader.h"
#include "core/clock.h"
#include "core/log.h"
#include "drill/history.h"
#include "drill/runner.h"
#include "drill/scenario.h"
#include "server/store_factory.h"

namespace tocsin::cli {
namespace {

namespace fs = std::filesystem;

int fail(const std::string& what) {
  fmt::print(stderr, "{}\n", what);
  return 1;
}

struct Recorded {
  int64_t id = 0;
  std::string where;
  std::vector<drill::PastRun> earlier;  // of the same scenario, newest first, before this one
};

// Stores the run in the config's store (server.data_dir, or server.store) and reads the earlier
// runs of its scenario.
core::Result<Recorded> record_run(const drill::DrillRun& run, const drill::Scenario& scenario,
                                  const config::Config& config) {
  auto store = TOCSIN_TRY(server::open_store(config.server));
  store::DrillRun record = drill::to_drill_run(run.scorecard, scenario, config, "simulated");
  record.ran_at = core::SystemClock().now();
  TOCSIN_RETURN_IF_ERROR(store::validate_drill_run(record));
  Recorded out;
  out.where = server::describe_store(config.server);
  std::vector<store::DrillRun> earlier;
  TOCSIN_RETURN_IF_ERROR(store->write([&](store::Tx& tx) -> core::Status {
    store::DrillRunFilter filter;
    filter.scenario = record.scenario;
    filter.with_scorecard = true;
    filter.limit = 50;
    earlier = TOCSIN_TRY(tx.list_drill_runs(filter));
    out.id = TOCSIN_TRY(tx.insert_drill_run(record));
    // Audited like POST /api/v1/drills (docs/compliance.md), in the same transaction; the actor
    // is the local user.
    const char* user = std::getenv("USER");
    TOCSIN_TRY(tx.append_audit({0, record.ran_at, user && *user ? user : "cli", "drill.run.record",
                                fmt::format("drill/run/{}", out.id), store::describe_drill_run(record), "cli"}));
    return {};
  }));
  out.earlier = TOCSIN_TRY(drill::past_runs(earlier));
  return out;
}

}  // namespace

int run_drill_run(const DrillRunCommand& command) {
  core::log::set_level(core::log::Level::kWarn);  // the engine's info lines would bury the scorecard
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string());
  auto scenario = drill::load_scenario(command.scenario);
  if (!scenario) return fail(scenario.error().to_string());
  auto config = std::make_shared<const config::Config>(std::move(*cfg));
  auto warnings = drill::validate_scenario(*scenario, *config);
  if (!warnings) return fail(warnings.error().to_string());
  for (const auto& w : *warnings) fmt::print(stderr, "warning: {}\n", w);

  core::SystemClock wall;
  const auto started = wall.mono_now();
  auto run = drill::run_drill_in_scratch_store(config, *scenario, command.seed);
  const double secs = std::chrono::duration<double>(wall.mono_now() - started).count();
  if (!run) return fail(fmt::format("tocsin drill run: {}", run.error().to_string()));
  const bool tty = !command.json && isatty(fileno(stdout));
  std::string out = command.json ? drill::render_json(run->scorecard) : drill::render_text(run->scorecard, tty);
  if (command.record) {
    // The history lives in the config's own store, next to its incidents (a running server
    // shares it: SQLite serialises the writers), so GET /api/v1/drills and the drill calendar see
    // this run. The JSON stays the scorecard alone: the same bytes for the same scenario and seed.
    auto recorded = record_run(*run, *scenario, *config);
    if (!recorded) return fail(fmt::format("tocsin drill run: the drill ran but was not recorded: {}",
                                           recorded.error().to_string()));
    if (!command.json) out += drill::render_comparison(run->scorecard, recorded->earlier, tty);
    fmt::print(stderr, "drill: recorded as run #{} in {}\n", recorded->id, recorded->where);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  const double hours = std::chrono::duration<double>(run->simulated).count() / 3600.0;
  fmt::print(stderr,
             "drill: {:.1f} simulated hours in {:.3f} s ({:.0f} simulated hours per second; {} samples, {} pages)\n",
             hours, secs, secs > 0 ? hours / secs : 0.0, run->samples, run->pages);
  return 0;
}

}  // namespace tocsin::cli
