#include "auth/route_policy.h"

#include <array>

namespace tocsin::auth {
namespace {

using enum Access;

// docs/security.md prints this table; keep them together.
constexpr std::array kRoutes = std::to_array<RouteRule>({
    // Public: health checks, the UI's static files (the login page must load), acknowledge links
    // (the signature is the credential) and logging in.
    {"GET", "/healthz", kPublic},
    {"GET", "/readyz", kPublic},
    {"GET", "/", kPublic},
    {"GET", "/index.html", kPublic},
    {"GET", "/ui/**", kPublic},
    {"GET", "/api/v1/ack/*", kPublic},
    {"POST", "/api/v1/ack/*", kPublic},
    {"POST", "/api/v1/session", kPublic},
    {"GET", "/metrics", kMetrics},
    // Intake: what Prometheus, Alertmanager and exporters send.
    {"POST", "/api/v1/push", kIntake},
    {"POST", "/api/v1/write", kIntake},
    {"POST", "/api/v1/import/prometheus", kIntake},
    {"POST", "/api/v1/events", kIntake},
    {"POST", "/api/v2/alerts", kIntake},
    {"POST", "/api/v1/alertmanager/webhook", kIntake},
    // Admin: the audit log, moving a simulated clock.
    {"GET", "/api/v1/audit", kAdmin},
    {"POST", "/api/v1/clock/advance", kAdmin},
    // Responders act on incidents (ack, resolve, notes, tasks, approvals, postmortems and their
    // action items), silences and drills.
    {"POST", "/api/v1/incidents/**", kResponder},
    {"PUT", "/api/v1/incidents/*/postmortem", kResponder},
    {"POST", "/api/v1/drills", kResponder},
    {"POST", "/api/v1/drills/run", kResponder},
    {"POST", "/api/v1/drills/live", kResponder},
    {"POST", "/api/v1/drills/live/*/finish", kResponder},
    {"POST", "/api/v2/silences", kResponder},
    {"DELETE", "/api/v2/silence/*", kResponder},
    // Evaluating a risk model on posted data changes nothing but costs CPU.
    {"POST", "/api/v1/risk/models/*/*", kResponder},
    // Everything else that is read; and logging out.
    {"GET", "/api/v1/session", kViewer},
    {"DELETE", "/api/v1/session", kViewer},
    {"GET", "/api/v1/incidents", kViewer},
    {"GET", "/api/v1/incidents/**", kViewer},
    {"GET", "/api/v1/action-items", kViewer},
    {"GET", "/api/v1/rules", kViewer},
    {"GET", "/api/v1/rules/**", kViewer},
    {"GET", "/api/v1/series", kViewer},
    {"GET", "/api/v1/series/**", kViewer},
    {"GET", "/api/v1/plans", kViewer},
    {"GET", "/api/v1/drills", kViewer},
    {"GET", "/api/v1/drills/**", kViewer},
    {"GET", "/api/v1/risk", kViewer},
    {"GET", "/api/v1/risk/heatmap.svg", kViewer},
    {"GET", "/api/v1/risk/models", kViewer},
    {"GET", "/api/v1/risk/models/**", kViewer},
    {"GET", "/api/v1/oncall", kViewer},
    {"GET", "/api/v1/kpi", kViewer},
    {"GET", "/api/v1/kpi/chart.svg", kViewer},
    {"GET", "/api/v1/clock", kViewer},
    {"GET", "/api/v1/compliance", kViewer},
    {"GET", "/api/v1/cluster", kViewer},
    {"GET", "/api/v1/people", kViewer},
    {"GET", "/api/v2/alerts", kViewer},
    {"GET", "/api/v2/alerts/groups", kViewer},
    {"GET", "/api/v2/silences", kViewer},
    {"GET", "/api/v2/silence/*", kViewer},
    {"GET", "/api/v2/status", kViewer},
    {"GET", "/api/v2/receivers", kViewer},
});

// The next segment of `path` (after a leading '/'), advancing it; nullopt at the end.
std::optional<std::string_view> next_segment(std::string_view& path) {
  if (path.empty()) return std::nullopt;
  path.remove_prefix(1);  // the '/'
  const size_t cut = path.find('/');
  const std::string_view segment = path.substr(0, cut);
  path = cut == std::string_view::npos ? std::string_view{} : path.substr(cut);
  return segment;
}

}  // namespace

std::string_view access_name(Access access) {
  switch (access) {
    case kPublic: return "public";
    case kIntake: return "intake";
    case kViewer: return "viewer";
    case kResponder: return "responder";
    case kAdmin: return "admin";
    case kMetrics: return "metrics";
  }
  return "admin";
}

std::span<const RouteRule> route_table() { return kRoutes; }

bool path_matches(std::string_view pattern, std::string_view path) {
  if (!path.starts_with('/')) return false;
  if (pattern == "/") return path == "/";
  for (;;) {
    const auto want = next_segment(pattern);
    if (!want) return path.empty();
    if (*want == "**") return !path.empty();  // one or more segments remain
    const auto have = next_segment(path);
    if (!have) return false;
    if (*want == "*" ? have->empty() : *want != *have) return false;
  }
}

RoutePolicy route_policy(std::string_view method, std::string_view path, bool metrics_public) {
  RoutePolicy policy;
  for (const RouteRule& rule : kRoutes) {
    if (!path_matches(rule.pattern, path)) continue;
    policy.known_path = true;
    if (rule.method == method) {
      policy.rule = &rule;
      policy.access = rule.access == kMetrics ? (metrics_public ? kPublic : kViewer) : rule.access;
      return policy;
    }
  }
  return policy;
}

config::Role role_needed(Access access) {
  switch (access) {
    case kAdmin: return config::Role::kAdmin;
    case kIntake:
    case kResponder: return config::Role::kResponder;
    default: return config::Role::kViewer;
  }
}

bool allowed(const std::optional<Principal>& principal, Access access) {
  if (access == kPublic) return true;
  if (!principal) return false;
  if (principal->kind == Principal::Kind::kIntake) return access == kIntake;
  return role_at_least(principal->role, role_needed(access));
}

}  // namespace tocsin::auth
