#include "action/runner.h"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "action/state.h"
#include "core/log.h"
#include "notify/payload.h"

namespace tocsin::action {

using core::Error;
using nlohmann::json;
using store::ActionState;

namespace {

bool is_http_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

// JSON that never throws on bytes that are not UTF-8 (they become U+FFFD).
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json labels_json(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

// Labels with the same value on every alert of the incident (as Alertmanager's CommonLabels).
core::Labels common_labels(const store::Incident& inc) {
  if (inc.alerts.empty()) return {};
  std::vector<core::Label> common;
  for (const auto& l : inc.alerts.front().labels) {
    bool everywhere = true;
    for (const auto& a : inc.alerts) everywhere = everywhere && a.labels.get_or(l.name, "\x01") == l.value;
    if (everywhere) common.push_back(l);
  }
  return core::Labels::from_pairs(std::move(common));
}

std::string step_title(const store::Incident& inc, const config::Step& step) {
  for (const auto& t : inc.tasks) {
    if (t.step == step.id) return t.title;
  }
  return step.title;
}

notify::TemplateValue template_data(const store::Incident& inc, const config::Step& step,
                                    std::string_view external_url) {
  using Map = notify::TemplateValue::Map;
  return Map{{"Incident", Map{{"ID", std::to_string(inc.id)},
                              {"Title", inc.title},
                              {"Plan", inc.plan},
                              {"Severity", inc.severity},
                              {"Status", store::to_string(inc.status)},
                              {"URL", notify::incident_url(external_url, inc.id)}}},
             {"Labels", notify::TemplateValue::kv(common_labels(inc))},
             {"Step", step.id}};
}

// The default webhook body and a command's stdin.
std::string default_body(const store::Incident& inc, const config::Step& step, std::string_view key,
                         std::string_view external_url) {
  json alerts = json::array();
  for (const auto& a : inc.alerts) {
    alerts.push_back({{"fingerprint", core::fingerprint_hex(a.fingerprint)},
                      {"labels", labels_json(a.labels)},
                      {"status", store::to_string(a.status)}});
  }
  return dump({{"version", "1"},
               {"event", "incident.action"},
               {"incident", notify::incident_summary_json(inc, external_url)},
               {"step", {{"id", step.id}, {"title", step_title(inc, step)}}},
               {"labels", labels_json(common_labels(inc))},
               {"alerts", alerts},
               {"idempotency_key", key}});
}

// The stored form of a rendered request (store::ActionRun::request).
std::string request_to_json(const ActionRequest& r) {
  json out = {{"type", r.type == ActionRequest::Type::kWebhook ? "webhook" : "command"},
              {"timeout_ms", r.timeout.count()},
              {"idempotency_key", r.idempotency_key},
              {"body", r.body}};
  if (r.type == ActionRequest::Type::kWebhook) {
    out["url"] = r.url;
  } else {
    out["argv"] = r.argv;
    out["env"] = r.env;
  }
  return dump(out);
}

core::Result<ActionRequest> request_from_json(std::string_view text) {
  try {
    const json j = json::parse(text);
    ActionRequest r;
    r.type =
        j.at("type").get<std::string>() == "webhook" ? ActionRequest::Type::kWebhook : ActionRequest::Type::kCommand;
    r.timeout = core::Duration(j.at("timeout_ms").get<int64_t>());
    r.idempotency_key = j.at("idempotency_key").get<std::string>();
    r.body = j.at("body").get<std::string>();
    if (r.type == ActionRequest::Type::kWebhook) {
      r.url = j.at("url").get<std::string>();
    } else {
      r.argv = j.at("argv").get<std::vector<std::string>>();
      r.env = j.at("env").get<std::map<std::string, std::string>>();
    }
    return r;
  } catch (const json::exception& e) {
    return std::unexpected(Error::internal(fmt::format("stored action request does not parse: {}", e.what())));
  }
}

// For the timeline: "webhook POST http://…" or "command /bin/sh -c …".
std::string describe(const ActionRequest& r) {
  if (r.type == ActionRequest::Type::kWebhook) return fmt::format("webhook POST {}", r.url);
  return fmt::format("command {}", fmt::join(r.argv, " "));
}

std::string with_output(std::string text, const std::string& output) {
  if (output.empty()) return text;
  return fmt::format("{}: {}", text, output);
}

core::Result<CompiledActions> compile(const config::Config& cfg) {
  CompiledActions out;
  for (size_t i = 0; i < cfg.plans.size(); ++i) {
    const config::Plan& plan = cfg.plans[i];
    // Field paths as the loader writes them: from the top of the file the plan came from.
    const std::string prefix = plan.file.empty() || plan.file == cfg.path ? fmt::format("plans[{}].", i) : "";
    for (size_t j = 0; j < plan.steps.size(); ++j) {
      const config::Step& step = plan.steps[j];
      if (!step.action) continue;
      const config::StepAction& a = *step.action;
      auto parse = [&](const std::string& text, const std::string& field) -> core::Result<notify::Template> {
        auto t = notify::Template::parse(text);
        if (t) return t;
        return std::unexpected(Error::invalid_argument(fmt::format("plan {}, step {}: bad template in action.{}: {}",
                                                                   plan.id, step.id, field, t.error().message()))
                                   .at(a.pos)
                                   .field(fmt::format("{}steps[{}].action.{}", prefix, j, field)));
      };
      CompiledAction c;
      c.step = &step;
      if (a.type == config::StepAction::Type::kWebhook) {
        c.url = TOCSIN_TRY(parse(a.url, "url"));
        if (!a.body.empty()) c.body = TOCSIN_TRY(parse(a.body, "body"));
      } else {
        for (size_t k = 0; k < a.command.size(); ++k) {
          c.argv.push_back(TOCSIN_TRY(parse(a.command[k], fmt::format("command[{}]", k))));
        }
      }
      out.emplace(std::make_pair(plan.id, step.id), std::move(c));
    }
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

core::Duration RetryPolicy::backoff_after(int attempts) const {
  if (backoff.empty()) return core::Duration::zero();
  const size_t i = static_cast<size_t>(std::max(attempts, 1) - 1);
  return backoff[std::min(i, backoff.size() - 1)];
}

std::string ActionRunner::idempotency_key(int64_t incident_id, std::string_view step) {
  // Escaped so that any step id makes a valid header value.
  return fmt::format("tocsin-{}-{}", incident_id, percent_encode(step));
}

core::Status ActionRunner::check_templates(const config::Config& config) {
  TOCSIN_TRY(compile(config));
  return {};
}

core::Result<std::unique_ptr<ActionRunner>> ActionRunner::create(RunnerOptions options) {
  if (!options.config || !options.clock) {
    return std::unexpected(Error::internal("the action runner needs a config and a clock"));
  }
  if (options.retry.max_attempts < 1) {
    return std::unexpected(Error::internal("the action runner needs at least one attempt"));
  }
  auto compiled = TOCSIN_TRY(compile(*options.config));
  return std::unique_ptr<ActionRunner>(new ActionRunner(std::move(options), std::move(compiled)));
}

ActionRunner::ActionRunner(RunnerOptions options, CompiledActions compiled)
    : options_(std::move(options)), compiled_(std::move(compiled)) {}

core::Result<store::Incident> ActionRunner::approve(store::Tx& tx, int64_t incident_id, std::string_view step,
                                                    std::string_view actor, core::Timestamp now) const {
  auto inc = TOCSIN_TRY(tx.get_incident(incident_id));
  if (!inc) return std::unexpected(Error::not_found(fmt::format("no incident {}", incident_id)));
  auto run = TOCSIN_TRY(tx.get_action_run(incident_id, step));
  if (!run) {
    bool known = false;
    for (const auto& t : inc->tasks) known = known || t.step == step;
    return std::unexpected(
        Error::not_found(known ? fmt::format("step \"{}\" of incident {} has no action", step, incident_id)
                               : fmt::format("incident {} has no step \"{}\"", incident_id, step))
            .field("step"));
  }
  if (inc->status == store::IncidentStatus::kResolved || inc->status == store::IncidentStatus::kClosed) {
    return std::unexpected(Error::failed_precondition(fmt::format(
        "incident {} is {}: its actions can no longer be approved", incident_id, store::to_string(inc->status))));
  }
  if (run->state != ActionState::kAwaitingApproval) {
    return std::unexpected(Error::failed_precondition(
        run->approved_by.empty() ? fmt::format("the action of step \"{}\" is not awaiting approval (it is {})", step,
                                               store::to_string(run->state))
                                 : fmt::format("the action of step \"{}\" was already approved by {} (it is {})", step,
                                               run->approved_by, store::to_string(run->state))));
  }
  TOCSIN_RETURN_IF_ERROR(check_transition(run->state, ActionState::kPending));
  run->state = ActionState::kPending;
  run->approved_by = std::string(actor);
  run->approved_at = now;
  run->next_attempt_at = now;
  TOCSIN_RETURN_IF_ERROR(tx.update_action_run(*run));
  TOCSIN_TRY(tx.append_timeline({0, incident_id, now, "action_approved", std::string(actor),
                                 fmt::format("{}: approved; the {} action runs now", step, run->type)}));
  return TOCSIN_TRY(tx.get_incident(incident_id)).value();
}

core::Result<ActionRequest> ActionRunner::render(const store::Incident& inc, const store::ActionRun& run) const {
  auto it = compiled_.find(std::make_pair(inc.plan, run.step));
  if (it == compiled_.end()) {
    return std::unexpected(Error::failed_precondition(
        fmt::format("plan {} has no action on step \"{}\" any more (the config changed)", inc.plan, run.step)));
  }
  const CompiledAction& c = it->second;
  const config::Step& step = *c.step;
  const notify::TemplateValue data = template_data(inc, step, options_.external_url);
  ActionRequest r;
  r.timeout = step.action->timeout;
  r.idempotency_key = idempotency_key(inc.id, run.step);
  if (step.action->type == config::StepAction::Type::kWebhook) {
    r.type = ActionRequest::Type::kWebhook;
    r.url = TOCSIN_TRY(c.url.render(data));
    if (!is_http_url(r.url)) {
      return std::unexpected(Error::invalid_argument(fmt::format("the URL \"{}\" is not http:// or https://", r.url)));
    }
    r.body =
        c.body ? TOCSIN_TRY(c.body->render(data)) : default_body(inc, step, r.idempotency_key, options_.external_url);
  } else {
    r.type = ActionRequest::Type::kCommand;
    for (const auto& arg : c.argv) r.argv.push_back(TOCSIN_TRY(arg.render(data)));
    if (r.argv.empty() || r.argv.front().empty())
      return std::unexpected(Error::invalid_argument("the command is empty"));
    r.body = default_body(inc, step, r.idempotency_key, options_.external_url);
    r.env = {{"TOCSIN_INCIDENT_ID", std::to_string(inc.id)},
             {"TOCSIN_STEP", run.step},
             {"TOCSIN_IDEMPOTENCY_KEY", r.idempotency_key}};
  }
  return r;
}

core::Status ActionRunner::recover(store::Tx& tx, core::Timestamp now) const {
  const int max = options_.retry.max_attempts;
  for (auto run : TOCSIN_TRY(tx.list_action_runs(ActionState::kRunning))) {
    const std::string what =
        fmt::format("{}: attempt {} of {} was interrupted by a restart", run.step, run.attempts, max);
    run.last_result = "interrupted by a restart";
    run.last_output.clear();
    if (run.attempts >= max) {
      TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kFailed));
      run.state = ActionState::kFailed;
      run.finished_at = now;
      TOCSIN_RETURN_IF_ERROR(tx.update_action_run(run));
      TOCSIN_TRY(tx.append_timeline({0, run.incident_id, now, "action_failed", "tocsin",
                                     what + "; no attempts left (it may have taken effect)"}));
    } else {
      TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kPending));
      run.state = ActionState::kPending;
      run.next_attempt_at = now;
      TOCSIN_RETURN_IF_ERROR(tx.update_action_run(run));
      TOCSIN_TRY(tx.append_timeline({0, run.incident_id, now, "action_interrupted", "tocsin",
                                     fmt::format("{}; it runs again with the same Idempotency-Key {}", what,
                                                 idempotency_key(run.incident_id, run.step))}));
    }
    core::log::warn("action interrupted by a restart", {{"incident", std::to_string(run.incident_id)},
                                                        {"step", run.step},
                                                        {"attempts", std::to_string(run.attempts)}});
  }
  return {};
}

core::Result<std::optional<std::pair<store::ActionRun, ActionRequest>>> ActionRunner::claim(store::Tx& tx,
                                                                                            core::Timestamp due,
                                                                                            core::Timestamp at) const {
  // A run whose request cannot be built fails here and the next one is looked at.
  for (;;) {
    auto runs = TOCSIN_TRY(tx.due_action_runs(due, 1));
    if (runs.empty()) return std::nullopt;
    store::ActionRun run = std::move(runs.front());
    core::Result<ActionRequest> request = std::unexpected(Error::internal("not rendered"));
    if (!run.request.empty()) request = request_from_json(run.request);
    if (!request) {
      // First attempt (or a stored request that no longer parses): render it from the incident.
      auto inc = TOCSIN_TRY(tx.get_incident(run.incident_id));
      if (!inc)
        return std::unexpected(Error::internal(fmt::format("action run of missing incident {}", run.incident_id)));
      request = render(*inc, run);
      if (request) run.request = request_to_json(*request);
    }
    if (!request) {
      TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kFailed));
      run.state = ActionState::kFailed;
      run.finished_at = at;
      run.last_result = fmt::format("could not build the request: {}", request.error().message());
      TOCSIN_RETURN_IF_ERROR(tx.update_action_run(run));
      TOCSIN_TRY(tx.append_timeline(
          {0, run.incident_id, at, "action_failed", "tocsin", fmt::format("{}: {}", run.step, run.last_result)}));
      continue;
    }
    TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kRunning));
    run.state = ActionState::kRunning;
    run.attempts += 1;
    run.started_at = at;
    TOCSIN_RETURN_IF_ERROR(tx.update_action_run(run));
    TOCSIN_TRY(
        tx.append_timeline({0, run.incident_id, at, "action_started", "tocsin",
                            fmt::format("{}: {} (attempt {} of {}, Idempotency-Key {})", run.step, describe(*request),
                                        run.attempts, options_.retry.max_attempts, request->idempotency_key)}));
    return std::make_pair(std::move(run), std::move(*request));
  }
}

core::Status ActionRunner::record(store::Tx& tx, store::ActionRun run, const ActionOutcome& outcome,
                                  core::Timestamp at) const {
  const int max = options_.retry.max_attempts;
  const std::string what = fmt::format("{}: {} (attempt {} of {})", run.step, outcome.result, run.attempts, max);
  run.last_result = outcome.result;
  run.last_output = outcome.output;
  std::string kind;
  std::string detail;
  if (outcome.ok) {
    TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kSucceeded));
    run.state = ActionState::kSucceeded;
    run.finished_at = at;
    kind = "action_succeeded";
    detail = with_output(what, outcome.output);
  } else if (run.attempts < max) {
    TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kPending));
    run.state = ActionState::kPending;
    run.next_attempt_at = at + options_.retry.backoff_after(run.attempts);
    kind = "action_attempt_failed";
    detail = with_output(fmt::format("{}; next attempt at {}", what, core::format_rfc3339(run.next_attempt_at)),
                         outcome.output);
  } else {
    TOCSIN_RETURN_IF_ERROR(check_transition(run.state, ActionState::kFailed));
    run.state = ActionState::kFailed;
    run.finished_at = at;
    kind = "action_failed";
    detail = with_output(what + "; no attempts left", outcome.output);
  }
  TOCSIN_RETURN_IF_ERROR(tx.update_action_run(run));
  TOCSIN_TRY(tx.append_timeline({0, run.incident_id, at, kind, "tocsin", detail}));
  return {};
}

core::Result<std::optional<core::Timestamp>> ActionRunner::update(store::Store& store, core::Timestamp now) {
  if (!recovered_) {
    TOCSIN_RETURN_IF_ERROR(store.write([&](store::Tx& tx) { return recover(tx, now); }));
    recovered_ = true;
  }
  if (!options_.executor) return std::nullopt;
  for (int i = 0; i < options_.batch; ++i) {
    if (options_.may_start && !options_.may_start()) break;
    std::optional<std::pair<store::ActionRun, ActionRequest>> claimed;
    TOCSIN_RETURN_IF_ERROR(store.write([&](store::Tx& tx) -> core::Status {
      claimed = TOCSIN_TRY(claim(tx, now, options_.clock->now()));
      return {};
    }));
    if (!claimed) break;
    auto& [run, request] = *claimed;
    // Outside any transaction: a slow receiver or command holds nothing up but this loop.
    const ActionOutcome outcome = options_.executor->run(request);
    TOCSIN_RETURN_IF_ERROR(store.write([&](store::Tx& tx) { return record(tx, run, outcome, options_.clock->now()); }));
    (outcome.ok ? core::log::info : core::log::warn)(outcome.ok ? "action succeeded" : "action attempt failed",
                                                     {{"incident", std::to_string(run.incident_id)},
                                                      {"step", run.step},
                                                      {"attempt", std::to_string(run.attempts)},
                                                      {"result", outcome.result}});
  }
  std::optional<core::Timestamp> next;
  TOCSIN_RETURN_IF_ERROR(store.read([&](store::Tx& tx) -> core::Status {
    next = TOCSIN_TRY(tx.next_action_run_due());
    return {};
  }));
  return next;
}

}  // namespace tocsin::action
