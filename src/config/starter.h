// `tocsin init`: writes a commented starter configuration that load_config() accepts — people, a
// channel, a schedule, an escalation policy, rules, routes and three emergency plans (system crash,
// data breach, network attack) — so a new user starts from something that runs and edits it.
// Thread-safety: reentrant; touches only the files under `dir`.
#pragma once

#include <filesystem>

#include "core/result.h"

namespace tocsin::config {

// Writes dir/tocsin.yaml and dir/plans/{system_crash,data_breach,network_attack}.yaml, creating
// directories as needed. Refuses (before writing anything) when any of those files exists; the
// error names it.
core::Status write_starter_config(const std::filesystem::path& dir);

}  // namespace tocsin::config
