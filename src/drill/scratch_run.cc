// run_drill_in_scratch_store: the drill's own SQLite store in a private temporary directory.
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "drill/runner.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::drill {
namespace {

namespace fs = std::filesystem;

// A private directory for the drill's store, removed when it goes out of scope. /dev/shm when
// there is one: the store fsyncs every commit, which costs nothing in memory.
class ScratchDir {
 public:
  core::Status create() {
    std::error_code ec;
    fs::path base = "/dev/shm";
    if (!fs::is_directory(base, ec) || access(base.c_str(), W_OK) != 0) base = fs::temp_directory_path(ec);
    std::string pattern = (base / "tocsin-drill-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return std::unexpected(
          core::Error::unavailable(fmt::format("cannot create a temporary directory under {}", base.string())));
    }
    path_ = pattern;
    return core::ok();
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

core::Result<DrillRun> run_drill_in_scratch_store(std::shared_ptr<const config::Config> config,
                                                  const Scenario& scenario, std::optional<uint64_t> seed) {
  ScratchDir scratch;
  TOCSIN_RETURN_IF_ERROR(scratch.create());
  auto store = TOCSIN_TRY(store::sqlite::open_sqlite_store(scratch.path() / "drill.db"));
  DrillOptions options;
  options.store = store.get();
  options.seed = seed;
  return run_drill(std::move(config), scenario, options);  // the store closes before the directory goes
}

}  // namespace tocsin::drill
