// Loads tocsin.yaml (SPEC §4) and the plan files it includes into a validated config::Config.
//
// Loading is all-or-nothing: either every section parsed and every reference between sections
// resolved, or the first problem in document order comes back as an Error (code invalid_argument)
// carrying the file and 1-based line, the field path ("rules[0].for") and what was expected, so
// that err.to_string() reads `tocsin.yaml:12: rules[0].for: bad duration "5x": ...`.
//
// Choices worth knowing:
//  - `plans: [{include: "plans/*.yaml"}]` globs relative to the config file's directory; wildcards
//    (*, ?, [..]) are allowed in the file name only, matches load in byte-sorted order, and a
//    pattern matching nothing is an error. Each included file holds one plan map.
//  - Relative `server.data_dir` and `auth.tokens[].token_file` are resolved against the config
//    file's directory; data_dir becomes absolute.
//  - Routes follow Alertmanager: a child inherits receiver, group_by, group_wait, group_interval
//    and repeat_interval from its parent, resolved here so each node carries effective values;
//    mute_time_intervals and active_time_intervals are not inherited. `match` and `match_re` are
//    merged into Route::matchers, sorted by (name, value, op).
//  - `time_intervals:` and the older `mute_time_intervals:` both fill Config::time_intervals, in
//    document order, with names unique across the two.
//  - A channel's send_resolved defaults per type, as Alertmanager: true for webhook and exec,
//    false for slack and email.
//  - `command` (exec channels, step actions) is an argv list, or one string run by /bin/sh -c.
//  - A null section (`people:` with nothing under it) is read as empty.
//
// Thread-safety: the functions are reentrant; they touch only the files they are given.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace tocsin::config {

// Reads and validates `file`; includes resolve against file's directory.
core::Result<Config> load_config(const std::filesystem::path& file);

// The same from text: `file_name` is what error positions and Config::path show, `base_dir` is
// where includes and relative paths resolve (empty = the current directory).
core::Result<Config> load_config_string(std::string_view yaml, std::string file_name, std::filesystem::path base_dir);

}  // namespace tocsin::config
