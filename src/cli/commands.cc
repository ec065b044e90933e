#include "cli/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "action/runner.h"
#include "cli/api_client.h"
#include "config/loader.h"
#include "config/starter.h"
#include "detect/rule_engine.h"
#include "server/server.h"

namespace tocsin::cli {

using nlohmann::json;

namespace {

int fail(const std::string& what) {
  fmt::print(stderr, "{}\n", what);
  return 1;
}

}  // namespace

int run_init(const std::string& dir) {
  if (auto st = config::write_starter_config(dir); !st) return fail(st.error().to_string());
  fmt::print("wrote a starter config to {}/tocsin.yaml (plans in {}/plans/)\n"
             "check it:  tocsin check-config {}/tocsin.yaml\n"
             "run it:    tocsin serve --config {}/tocsin.yaml\n",
             dir, dir, dir, dir);
  return 0;
}

int run_check_config(const std::string& file) {
  auto cfg = config::load_config(file);
  if (!cfg) return fail(cfg.error().to_string());
  // Detector parameters are checked by the detectors themselves.
  auto rules = detect::RuleEngine::create(cfg->rules, detect::DetectorRegistry::builtin());
  if (!rules) return fail(rules.error().to_string());
  // Step actions' templates are parsed when the engine starts; check them here too.
  if (auto actions = action::ActionRunner::check_templates(*cfg); !actions) return fail(actions.error().to_string());
  fmt::print("{}: ok ({} rules, {} plans, {} people, {} schedules, {} escalation policies, {} channels)\n", file,
             cfg->rules.size(), cfg->plans.size(), cfg->people.size(), cfg->schedules.size(),
             cfg->escalation_policies.size(), cfg->channels.size());
  return 0;
}

int run_serve(const std::string& config, const std::string& listen) {
  auto st = server::serve({config, listen});
  if (!st) return fail(fmt::format("tocsin serve: {}", st.error().to_string()));
  return 0;
}

namespace {

std::string str_or(const json& j, const char* key, const char* fallback = "-") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}

void print_incident(const json& inc) {
  fmt::print("Incident {}  {}\n", str_or(inc, "id"), str_or(inc, "title"));
  fmt::print("  status {}  severity {}  plan {}\n", str_or(inc, "status"), str_or(inc, "severity"), str_or(inc, "plan"));
  fmt::print("  opened {}  acknowledged {}  resolved {}\n", str_or(inc, "opened_at"), str_or(inc, "acknowledged_at"),
             str_or(inc, "resolved_at"));
  fmt::print("Alerts\n");
  for (const auto& a : inc.value("alerts", json::array())) {
    fmt::print("  {:<9} {}\n", str_or(a, "status"), a.value("labels", json::object()).dump());
  }
  fmt::print("Tasks\n");
  for (const auto& t : inc.value("tasks", json::array())) {
    fmt::print("  [{}] {:<10} {:<40} owner {} ({}) due {}\n", str_or(t, "status") == "done" ? "x" : " ",
               str_or(t, "step"), str_or(t, "title"), str_or(t, "owner"), str_or(t, "assignee", "nobody"),
               str_or(t, "due_at"));
    if (auto a = t.find("action"); a != t.end() && a->is_object()) {
      fmt::print("      {} action: {}, {} attempt(s){}{}\n", str_or(*a, "type"), str_or(*a, "state"),
                 a->value("attempts", 0), a->contains("approved_by") && (*a)["approved_by"].is_string()
                                             ? ", approved by " + (*a)["approved_by"].get<std::string>()
                                             : "",
                 str_or(*a, "last_result", "").empty() ? "" : ", last: " + str_or(*a, "last_result", ""));
    }
  }
  fmt::print("Timeline\n");
  for (const auto& e : inc.value("timeline", json::array())) {
    fmt::print("  {}  {:<14} {:<8} {}\n", str_or(e, "at"), str_or(e, "kind"), str_or(e, "actor"), str_or(e, "detail", ""));
  }
}

}  // namespace

int run_incident(const IncidentCommand& c) {
  ApiClient client(c.server, c.token);
  core::Result<ApiResponse> response = std::unexpected(core::Error::internal("unknown action"));
  if (c.action == "list") {
    response = client.get(c.status.empty() ? "/api/v1/incidents" : "/api/v1/incidents?status=" + c.status);
  } else if (c.action == "show") {
    response = client.get("/api/v1/incidents/" + c.id);
  } else {
    response = client.post(fmt::format("/api/v1/incidents/{}/{}", c.id, c.action), json{{"actor", c.actor}}.dump());
  }
  if (!response) return fail(fmt::format("tocsin incident {}: {}", c.action, response.error().message()));
  const json body = json::parse(response->body, nullptr, false);
  if (response->status >= 300) {
    std::string message = !body.is_discarded() && body.is_object() ? str_or(body, "error", "") : "";
    if (message.empty()) message = response->body;
    return fail(fmt::format("tocsin incident {}: HTTP {}: {}", c.action, response->status, message));
  }
  if (body.is_discarded()) return fail(fmt::format("tocsin incident {}: the server sent malformed JSON", c.action));
  if (c.json) {
    fmt::print("{}\n", body.dump(2));
    return 0;
  }
  if (c.action == "list") {
    const auto incidents = body.value("incidents", json::array());
    fmt::print("{:<6} {:<13} {:<9} {:<16} {:<22} {}\n", "ID", "STATUS", "SEVERITY", "PLAN", "OPENED", "TITLE");
    for (const auto& inc : incidents) {
      fmt::print("{:<6} {:<13} {:<9} {:<16} {:<22} {}\n", str_or(inc, "id"), str_or(inc, "status"),
                 str_or(inc, "severity"), str_or(inc, "plan"), str_or(inc, "opened_at"), str_or(inc, "title"));
    }
    if (incidents.empty()) fmt::print("(no incidents)\n");
  } else if (c.action == "show") {
    print_incident(body);
  } else {
    fmt::print("incident {} is now {}\n", str_or(body, "id"), str_or(body, "status"));
  }
  return 0;
}

}  // namespace tocsin::cli
