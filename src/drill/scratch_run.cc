// run_drill_in_scratch_store: the drill's own SQLite store in a private temporary directory.
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "core/file_io.h"
#include "drill/runner.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::drill {
namespace {

namespace fs = std::filesystem;

// The drill's store goes in /dev/shm when there is one: the store fsyncs every commit, which costs
// nothing in memory.
fs::path scratch_base() {
  std::error_code ec;
  fs::path base = "/dev/shm";
  if (!fs::is_directory(base, ec) || access(base.c_str(), W_OK) != 0) base = fs::temp_directory_path(ec);
  return base;
}

}  // namespace

core::Result<DrillRun> run_drill_in_scratch_store(std::shared_ptr<const config::Config> config,
                                                  const Scenario& scenario, std::optional<uint64_t> seed) {
  auto scratch = TOCSIN_TRY(core::ScratchDir::create(scratch_base(), "tocsin-drill-"));
  auto store = TOCSIN_TRY(store::sqlite::open_sqlite_store(scratch.path() / "drill.db"));
  DrillOptions options;
  options.store = store.get();
  options.seed = seed;
  return run_drill(std::move(config), scenario, options);  // the store closes before the directory goes
}

}  // namespace tocsin::drill
