#include "cli/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "alerting/pipeline.h"
#include "action/runner.h"
#include "cli/api_client.h"
#include "risk_register/register.h"
#include "notify/template.h"
#include "core/clock.h"
#include "core/duration.h"
#include "config/loader.h"
#include "config/starter.h"
#include "drill/starter_scenarios.h"
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
  // Refuse before writing anything when a scenario file is in the way (the config checks its own).
  if (auto st = drill::check_starter_scenarios_absent(dir); !st) return fail(st.error().to_string());
  if (auto st = config::write_starter_config(dir); !st) return fail(st.error().to_string());
  if (auto st = drill::write_starter_scenarios(dir); !st) return fail(st.error().to_string());
  fmt::print("wrote a starter config to {}/tocsin.yaml (plans in {}/plans/, drill scenarios in {}/scenarios/)\n"
             "check it:  tocsin check-config {}/tocsin.yaml\n"
             "run it:    tocsin serve --config {}/tocsin.yaml\n"
             "drill it:  tocsin drill run {}/scenarios/system_crash.yaml --config {}/tocsin.yaml\n",
             dir, dir, dir, dir, dir, dir, dir);
  return 0;
}

int run_check_config(const std::string& file) {
  auto cfg = config::load_config(file);
  if (!cfg) return fail(cfg.error().to_string());
  // Detector parameters are checked by the detectors themselves.
  auto rules = detect::RuleEngine::create(cfg->rules, detect::DetectorRegistry::builtin());
  if (!rules) return fail(rules.error().to_string());
  // Notification templates and time-interval zones are checked where they are compiled.
  auto shared = std::make_shared<const config::Config>(*cfg);
  if (auto pipeline = alerting::Pipeline::create(shared, ""); !pipeline) {
    return fail(fmt::format("{}: {}", file, pipeline.error().message()));
  }
  // Communication templates are rendered per incident; a broken one is a config error.
  for (const auto& plan : cfg->plans) {
    for (const auto& [name, text] : plan.communications) {
      if (auto t = notify::Template::parse(text); !t) {
        return fail(fmt::format("{}:{}: plans[{}].communications.{}: {}", plan.file.empty() ? file : plan.file,
                                plan.pos.line, plan.id, name, t.error().message()));
      }
    }
  }
  // A plan past its review date is valid, but someone should look at it: say so, exit 0.
  core::SystemClock clock;
  const core::Timestamp now = clock.now();
  for (const auto& plan : cfg->plans) {
    const auto due = config::review_due(plan);
    if (!due || *due > now) continue;
    const std::string where = plan.file.empty() ? file : plan.file;
    fmt::print("{}:{}: warning: plan {}: review overdue {} (review_every {}{})\n", where, plan.pos.line, plan.id,
               plan.reviewed ? "since " + core::format_rfc3339(*due).substr(0, 10) : std::string("(never reviewed)"),
               core::format_duration(plan.review_every), plan.reviewed ? "" : "; set reviewed: YYYY-MM-DD");
  }
  // A plan's drill scenario should exist, but a missing one is only a warning: the scenario may be
  // written after the plan (and GET /api/v1/drills still reports the drill as due).
  for (const auto& plan : cfg->plans) {
    if (!plan.drill) continue;
    std::error_code ec;
    if (std::filesystem::is_regular_file(plan.drill->scenario, ec)) continue;
    fmt::print("{}:{}: warning: plan {}: drill scenario {} does not exist\n", plan.file.empty() ? file : plan.file,
               plan.drill->pos.line, plan.id, plan.drill->scenario);
  }
  // Likewise a risk past its review date.
  for (const auto& entry : risk_register::build_register(cfg->risks, now).entries) {
    if (!entry.review_overdue) continue;
    const auto risk = std::find_if(cfg->risks.begin(), cfg->risks.end(), [&](const auto& r) { return r.id == entry.id; });
    fmt::print("{}:{}: warning: risk {}: review overdue since {}\n", file, risk->pos.line, entry.id,
               risk_register::format_date(entry.review));
  }
  // Step actions' templates are parsed when the engine starts; check them here too.
  if (auto actions = action::ActionRunner::check_templates(*cfg); !actions) return fail(actions.error().to_string());
  fmt::print("{}: ok ({} rules, {} plans, {} people, {} schedules, {} escalation policies, {} channels)\n", file,
             cfg->rules.size(), cfg->plans.size(), cfg->people.size(), cfg->schedules.size(),
             cfg->escalation_policies.size(), cfg->channels.size());
  return 0;
}

int run_serve(const std::string& config, const std::string& listen, const std::string& simulated_clock) {
  server::ServeOptions options{config, listen, std::nullopt};
  if (!simulated_clock.empty()) {
    auto start = core::parse_rfc3339(simulated_clock);
    if (!start) {
      return fail(fmt::format("tocsin serve: bad --simulated-clock \"{}\": expected an RFC 3339 time like "
                              "2026-12-04T09:00:00Z",
                              simulated_clock));
    }
    options.simulated_clock_start = *start;
  }
  auto st = server::serve(options);
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

namespace {

// The JSON body of a 2xx answer, or the one-line failure `what: …` printed for anything else.
core::Result<json> answer_json(const core::Result<ApiResponse>& response, const std::string& what) {
  if (!response) return std::unexpected(core::Error::unavailable(fmt::format("{}: {}", what, response.error().message())));
  const json body = json::parse(response->body, nullptr, false);
  if (response->status >= 300) {
    std::string message = !body.is_discarded() && body.is_object() ? str_or(body, "error", "") : "";
    if (message.empty()) message = response->body;
    return std::unexpected(
        core::Error::unavailable(fmt::format("{}: HTTP {}: {}", what, response->status, message)));
  }
  if (body.is_discarded()) return std::unexpected(core::Error::internal(fmt::format("{}: the server sent malformed JSON", what)));
  return body;
}

}  // namespace

int run_oncall(const OnCallCommand& c) {
  ApiClient client(c.server, c.token, c.ca_file);
  std::string path = "/api/v1/oncall";
  char sep = '?';
  if (!c.at.empty()) {
    path += fmt::format("{}at={}", sep, query_escape(c.at));
    sep = '&';
  }
  if (!c.schedule.empty()) path += fmt::format("{}schedule={}", sep, query_escape(c.schedule));
  auto body = answer_json(client.get(path), "tocsin oncall");
  if (!body) return fail(body.error().message());
  if (c.json) {
    fmt::print("{}\n", body->dump(2));
    return 0;
  }
  fmt::print("On call at {}\n", str_or(*body, "at"));
  fmt::print("{:<16} {:<28} {:<22} {}\n", "SCHEDULE", "PERSON", "UNTIL", "SOURCE");
  const auto schedules = body->value("schedules", json::array());
  for (const auto& s : schedules) {
    const auto people = s.value("on_call", json::array());
    if (people.empty()) {
      // Nobody now: show when someone will be.
      fmt::print("{:<16} {:<28} {:<22} {}\n", str_or(s, "id"), "(nobody)", str_or(s, "next_handoff"), "-");
    }
    for (const auto& p : people) {
      const std::string id = str_or(p, "person");
      const std::string name = str_or(p, "name", "");
      const std::string who = name.empty() || name == id ? id : fmt::format("{} ({})", id, name);
      fmt::print("{:<16} {:<28} {:<22} {}\n", str_or(s, "id"), who, str_or(p, "until"), str_or(p, "source"));
    }
  }
  if (schedules.empty()) fmt::print("(no schedules)\n");
  return 0;
}

int run_incident(const IncidentCommand& c) {
  ApiClient client(c.server, c.token, c.ca_file);
  core::Result<ApiResponse> response = std::unexpected(core::Error::internal("unknown action"));
  if (c.action == "list") {
    response = client.get(c.status.empty() ? "/api/v1/incidents" : "/api/v1/incidents?status=" + c.status);
  } else if (c.action == "show") {
    response = client.get("/api/v1/incidents/" + c.id);
  } else {
    response = client.post(fmt::format("/api/v1/incidents/{}/{}", c.id, c.action), json{{"actor", c.actor}}.dump());
  }
  auto answer = answer_json(response, fmt::format("tocsin incident {}", c.action));
  if (!answer) return fail(answer.error().message());
  const json& body = *answer;
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
