// The drill scenarios `tocsin init` writes next to the starter config (scenarios/*.yaml): one
// per starter plan — system crash, data breach, network attack — driving the starter rules.
// Thread-safety: reentrant; touches only the files under `dir`.
#pragma once

#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tocsin::drill {

// (path relative to the config directory, text)
const std::vector<std::pair<std::string_view, std::string_view>>& starter_scenarios();

// Fails (naming the file) when any of them exists already; writes nothing then.
core::Status check_starter_scenarios_absent(const std::filesystem::path& dir);
core::Status write_starter_scenarios(const std::filesystem::path& dir);

}  // namespace tocsin::drill
