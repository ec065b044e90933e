// Tests' stand-in for the process environment: an EnvLookup over a fixed map, so tests of the
// secrets read at start (notifiers, auth_secrets) never touch the real environment.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "server/notifiers.h"

namespace tocsin::server {

inline EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

}  // namespace tocsin::server
