// `tocsin report postmortem ID --config FILE [--format md|html]` (SPEC §2): the postmortem draft
// of one incident (report/postmortem.h), read from the config's store (server.data_dir/tocsin.db,
// the store `tocsin serve` and `tocsin drill run` write), printed to stdout. Exit 0 with the
// document; exit 1 with one line on stderr for a bad config, a missing store or an unknown
// incident. Reads only: the store is never created or changed.
#pragma once

#include <cstdint>
#include <string>

namespace tocsin::cli {

struct PostmortemCommand {
  int64_t id = 0;
  std::string config;
  std::string format = "md";  // md | html
};

int run_report_postmortem(const PostmortemCommand& command);

}  // namespace tocsin::cli
