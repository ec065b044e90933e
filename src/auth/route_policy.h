// Who may call what: one declarative table of (method, path pattern) → required access, consulted
// by api::Router before it dispatches anything (docs/security.md prints the table). A (method,
// path) that matches no entry needs admin (default deny), and a path that matches no entry under
// any method is not a route at all: the router answers 404 without dispatching, so a route added
// to the router but not to this table cannot be reached, and its tests fail until it is added.
// Patterns are paths whose segments are literal, `*` (exactly one non-empty segment) or, last,
// `**` (one or more segments of any content). The first matching entry wins.
// Thread-safety: pure functions over constant data.
#pragma once

#include <span>
#include <string_view>

#include "auth/tokens.h"
#include "config/config.h"

namespace tocsin::auth {

enum class Access {
  kPublic,     // no credentials
  kIntake,     // the auth.intake secret, or a responder token
  kViewer,
  kResponder,
  kAdmin,
  kMetrics,    // viewer, or public with auth.metrics_public: true
};
std::string_view access_name(Access access);

struct RouteRule {
  std::string_view method;   // "GET" (a HEAD arrives as GET), "POST", "PUT", "DELETE"
  std::string_view pattern;  // "/api/v1/incidents/*/postmortem"
  Access access;
};

// The table, in match order.
std::span<const RouteRule> route_table();

bool path_matches(std::string_view pattern, std::string_view path);

struct RoutePolicy {
  Access access = Access::kAdmin;  // kMetrics already resolved to kPublic or kViewer
  bool known_path = false;         // some entry, of any method, matches the path
  const RouteRule* rule = nullptr;  // the entry for (method, path); null = default deny (admin)
};
RoutePolicy route_policy(std::string_view method, std::string_view path, bool metrics_public);

// Whether `principal` (nullopt: no credentials) may call a route needing `access`. kIntake
// principals pass kIntake and kPublic only; tokens and sessions pass by role.
bool allowed(const std::optional<Principal>& principal, Access access);

// The role a token needs for `access` (kIntake: responder), for the 403 message.
config::Role role_needed(Access access);

}  // namespace tocsin::auth
