#include "cli/report_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "config/loader.h"
#include "core/log.h"
#include "report/postmortem.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::cli {
namespace {

int fail(const std::string& what) {
  fmt::print(stderr, "tocsin report postmortem: {}\n", what);
  return 1;
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
  const std::filesystem::path db = std::filesystem::path(cfg->server.data_dir) / "tocsin.db";
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) {
    return fail(fmt::format("no store at {} (nothing has run with this config yet)", db.string()));
  }
  auto store = store::sqlite::open_sqlite_store(db);
  if (!store) return fail(fmt::format("{}: {}", db.string(), store.error().to_string()));
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

}  // namespace tocsin::cli
