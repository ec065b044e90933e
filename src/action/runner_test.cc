// The action runner over a real SQLite store, a simulated clock, real processes and a real local
// HTTP receiver: approval, templating, retries with back-off and the same Idempotency-Key,
// giving up, timeouts, and the transition table.
#include "action/runner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "action/state.h"
#include "action/system_executor.h"
#include "config/loader.h"
#include "core/simulated_clock.h"
#include "http/http.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::action {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using store::ActionState;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

// Answers with the given statuses in turn (then 200) and records every request.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses = {}) : statuses_(std::move(statuses)) {
    server_ = http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
                std::lock_guard lock(mu_);
                requests_.push_back(r);
                const int status = next_ < statuses_.size() ? statuses_[next_++] : 200;
                return http::Response::json(status, status == 200 ? R"({"switched": true})" : R"({"error": "busy"})");
              }).value();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }
  std::vector<http::Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<int> statuses_;
  size_t next_ = 0;
  std::vector<http::Request> requests_;
  std::unique_ptr<http::Server> server_;
};

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class RunnerTest : public ::testing::Test {
 protected:
  // `steps` is the YAML of the plan's step list, indented for "    steps:".
  void start(const std::string& steps, RetryPolicy retry = {}) {
    auto cfg = config::load_config_string(fmt::format(R"(
plans:
  - id: crash
    title: System crash
    match: ['incident_type="crash"']
    steps:
{})",
                                                      steps),
                                          "test.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
    RunnerOptions options;
    options.config = config_;
    options.clock = &clock_;
    options.executor = &executor_;
    options.external_url = "http://tocsin.test";
    options.retry = std::move(retry);
    options.may_start = may_start_;
    auto runner = ActionRunner::create(std::move(options));
    ASSERT_TRUE(runner.has_value()) << runner.error().to_string();
    runner_ = std::move(*runner);
  }

  // An incident of the plan as the incident layer opens it: tasks, and a run per action step.
  int64_t open_incident() {
    int64_t id = 0;
    const config::Plan& plan = config_->plans.front();
    auto st = store_->write([&](store::Tx& tx) -> core::Status {
      store::Incident inc;
      inc.title = "System crash: load 0.95 on h1";
      inc.plan = plan.id;
      inc.severity = plan.severity;
      inc.group_key = "crash|alertname=HighLoad";
      inc.opened_at = clock_.now();
      id = TOCSIN_TRY(tx.insert_incident(inc));
      for (const char* instance : {"h1", "h2"}) {
        const core::Labels labels{{"alertname", "HighLoad"}, {"service", "api"}, {"instance", instance}};
        TOCSIN_RETURN_IF_ERROR(
            tx.upsert_incident_alert(id, {labels.fingerprint(), labels, store::AlertState::kFiring, clock_.now()}));
      }
      for (size_t i = 0; i < plan.steps.size(); ++i) {
        const auto& step = plan.steps[i];
        store::Task task;
        task.step = step.id;
        task.ord = static_cast<int>(i);
        task.title = step.title;
        task.due_at = clock_.now() + step.due;
        TOCSIN_RETURN_IF_ERROR(tx.insert_task(id, task));
        if (!step.action) continue;
        store::ActionRun run;
        run.incident_id = id;
        run.step = step.id;
        run.type = step.action->type == config::StepAction::Type::kWebhook ? "webhook" : "command";
        run.state = step.action->approve ? ActionState::kAwaitingApproval : ActionState::kPending;
        run.created_at = clock_.now();
        run.next_attempt_at = clock_.now();
        TOCSIN_RETURN_IF_ERROR(tx.insert_action_run(run));
      }
      return {};
    });
    EXPECT_TRUE(st.has_value()) << st.error().to_string();
    return id;
  }

  std::optional<core::Timestamp> update() {
    auto next = runner_->update(*store_, clock_.now());
    EXPECT_TRUE(next.has_value()) << next.error().to_string();
    return next ? *next : std::nullopt;
  }

  core::Result<store::Incident> approve(int64_t id, std::string_view step, std::string_view actor = "alice") {
    store::Incident out;
    TOCSIN_RETURN_IF_ERROR(store_->write([&](store::Tx& tx) -> core::Status {
      out = TOCSIN_TRY(runner_->approve(tx, id, step, actor, clock_.now()));
      return {};
    }));
    return out;
  }

  store::Incident incident(int64_t id) {
    std::optional<store::Incident> out;
    EXPECT_TRUE(store_
                    ->read([&](store::Tx& tx) -> core::Status {
                      out = TOCSIN_TRY(tx.get_incident(id));
                      return {};
                    })
                    .has_value());
    return out.value_or(store::Incident{});
  }

  store::ActionRun run_of(int64_t id, std::string_view step) {
    for (const auto& a : incident(id).actions) {
      if (a.step == step) return a;
    }
    ADD_FAILURE() << "no action run for step " << step;
    return {};
  }

  static std::vector<std::string> action_kinds(const store::Incident& inc) {
    std::vector<std::string> out;
    for (const auto& e : inc.timeline) {
      if (e.kind.starts_with("action_")) out.push_back(e.kind);
    }
    return out;
  }

  test_support::TempDir dir_;
  core::SimulatedClock clock_{kStart};
  SystemExecutor executor_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ActionRunner> runner_;
  std::function<bool()> may_start_;  // RunnerOptions::may_start; empty = always
};

TEST_F(RunnerTest, AnApprovalGatedWebhookWaitsForItsApproval) {
  Receiver receiver;
  start(fmt::format(R"(      - {{id: triage, title: Triage}}
      - id: failover
        title: Switch traffic to the backup
        action: {{type: webhook, url: "{}/failover/{{{{ .Incident.ID }}}}", approve: true, timeout: 5s}})",
                    receiver.url()));
  const int64_t id = open_incident();
  EXPECT_EQ(update(), std::nullopt);
  EXPECT_TRUE(receiver.requests().empty()) << "ran before approval";
  EXPECT_EQ(run_of(id, "failover").state, ActionState::kAwaitingApproval);

  clock_.advance(seconds(30));
  auto approved = approve(id, "failover", "alice");
  ASSERT_TRUE(approved.has_value()) << approved.error().to_string();
  ASSERT_EQ(approved->actions.size(), 1u);
  EXPECT_EQ(approved->actions[0].state, ActionState::kPending);
  EXPECT_EQ(approved->actions[0].approved_by, "alice");
  EXPECT_EQ(approved->actions[0].approved_at, kStart + seconds(30));
  EXPECT_EQ(approved->timeline.back().kind, "action_approved");
  EXPECT_EQ(approved->timeline.back().actor, "alice");

  EXPECT_EQ(update(), std::nullopt);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, fmt::format("/failover/{}", id));
  EXPECT_EQ(requests[0].header("idempotency-key"), fmt::format("tocsin-{}-failover", id));
  // The default body: the incident, the step, its alerts' common labels.
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["event"], "incident.action");
  EXPECT_EQ(body["incident"]["id"], std::to_string(id));
  EXPECT_EQ(body["incident"]["plan"], "crash");
  EXPECT_EQ(body["incident"]["severity"], "critical");
  EXPECT_EQ(body["incident"]["url"], fmt::format("http://tocsin.test/#/incidents/{}", id));
  EXPECT_EQ(body["step"], json({{"id", "failover"}, {"title", "Switch traffic to the backup"}}));
  EXPECT_EQ(body["labels"], json({{"alertname", "HighLoad"}, {"service", "api"}}));
  EXPECT_EQ(body["alerts"].size(), 2u);
  EXPECT_EQ(body["idempotency_key"], fmt::format("tocsin-{}-failover", id));

  const store::ActionRun run = run_of(id, "failover");
  EXPECT_EQ(run.state, ActionState::kSucceeded);
  EXPECT_EQ(run.attempts, 1);
  EXPECT_EQ(run.last_result, "HTTP 200");
  EXPECT_EQ(run.last_output, R"({"switched": true})");
  const store::Incident inc = incident(id);
  EXPECT_EQ(action_kinds(inc), (std::vector<std::string>{"action_approved", "action_started", "action_succeeded"}));
  EXPECT_EQ(inc.timeline.back().detail, R"(failover: HTTP 200 (attempt 1 of 3): {"switched": true})");

  // Approving again is a conflict, and so is an incident that is over.
  auto again = approve(id, "failover", "bob");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(again.error().message(), "the action of step \"failover\" was already approved by alice (it is succeeded)");
}

TEST_F(RunnerTest, ApproveNamesWhatIsMissingOrWrong) {
  start(R"(      - {id: triage, title: Triage}
      - {id: failover, title: Fail over, action: {type: webhook, url: "http://127.0.0.1:1/x", approve: true}}
      - {id: restart, title: Restart, action: {type: command, command: [/bin/true]}})");
  const int64_t id = open_incident();
  struct Case {
    int64_t incident;
    std::string step;
    core::ErrorCode code;
    std::string message;
  };
  const Case cases[] = {
      {id + 1, "failover", core::ErrorCode::kNotFound, fmt::format("no incident {}", id + 1)},
      {id, "nope", core::ErrorCode::kNotFound, fmt::format("incident {} has no step \"nope\"", id)},
      {id, "triage", core::ErrorCode::kNotFound, fmt::format("step \"triage\" of incident {} has no action", id)},
      {id, "restart", core::ErrorCode::kFailedPrecondition,
       "the action of step \"restart\" is not awaiting approval (it is pending)"},
  };
  for (const auto& c : cases) {
    auto r = approve(c.incident, c.step);
    ASSERT_FALSE(r.has_value()) << c.step;
    EXPECT_EQ(r.error().code(), c.code) << c.step;
    EXPECT_EQ(r.error().message(), c.message);
  }
  // A resolved incident's actions can no longer be approved.
  ASSERT_TRUE(store_
                  ->write([&](store::Tx& tx) -> core::Status {
                    auto inc = TOCSIN_TRY(tx.get_incident(id)).value();
                    inc.status = store::IncidentStatus::kResolved;
                    return tx.update_incident(inc);
                  })
                  .has_value());
  auto late = approve(id, "failover");
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(late.error().message(), fmt::format("incident {} is resolved: its actions can no longer be approved", id));
  EXPECT_EQ(run_of(id, "failover").state, ActionState::kAwaitingApproval);
}

TEST_F(RunnerTest, ACommandRunsAtOnceWithItsTemplatedArgvStdinAndEnvironment) {
  start(fmt::format(R"(      - id: restart
        title: Restart the service
        action:
          type: command
          command:
            - /bin/sh
            - -c
            - 'cat > "$0/stdin"; printf "%s|%s|%s|%s" "$TOCSIN_INCIDENT_ID" "$TOCSIN_STEP" "$TOCSIN_IDEMPOTENCY_KEY" "$1" > "$0/env"; echo restarted'
            - {}
            - '{{{{ .Labels.service }}}} in {{{{ .Incident.Plan }}}} ({{{{ .Incident.Severity }}}}, step {{{{ .Step }}}})')",
                    dir_.path().string()));
  const int64_t id = open_incident();
  EXPECT_EQ(update(), std::nullopt);
  EXPECT_EQ(read_file(dir_.path() / "env"),
            fmt::format("{0}|restart|tocsin-{0}-restart|api in crash (critical, step restart)", id));
  const json stdin_json = json::parse(read_file(dir_.path() / "stdin"));
  EXPECT_EQ(stdin_json["incident"]["id"], std::to_string(id));
  EXPECT_EQ(stdin_json["step"]["id"], "restart");
  const store::ActionRun run = run_of(id, "restart");
  EXPECT_EQ(run.state, ActionState::kSucceeded);
  EXPECT_EQ(run.last_result, "exit status 0");
  EXPECT_EQ(run.last_output, "restarted\n");
  EXPECT_EQ(action_kinds(incident(id)), (std::vector<std::string>{"action_started", "action_succeeded"}));
}

// The engine lease's gate: while may_start says no, no run is claimed (it stays pending and due);
// a replica that takes the lease over puts the runs its predecessor left running back to pending.
TEST_F(RunnerTest, NoAttemptStartsWhileMayStartSaysNoAndATakeoverRecoversRunningOnes) {
  bool allowed = false;
  may_start_ = [&] { return allowed; };
  start(fmt::format(R"(      - id: restart
        title: Restart the service
        action:
          type: command
          command: ['/bin/sh', '-c', 'echo ran >> "$0/ran"', '{}'])",
                    dir_.path().string()));
  const int64_t id = open_incident();
  update();
  EXPECT_EQ(run_of(id, "restart").state, ActionState::kPending);
  EXPECT_EQ(run_of(id, "restart").attempts, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "ran"));

  // Another holder claimed it and died mid-attempt: the run is left running.
  store::ActionRun orphan = run_of(id, "restart");
  orphan.state = ActionState::kRunning;
  orphan.attempts = 1;
  orphan.started_at = clock_.now();
  ASSERT_TRUE(store_->write([&](store::Tx& tx) { return tx.update_action_run(orphan); }).has_value());
  allowed = true;
  update();
  EXPECT_EQ(run_of(id, "restart").state, ActionState::kRunning) << "the first update recovered before the orphan";
  runner_->recover_on_next_update();
  update();
  EXPECT_EQ(run_of(id, "restart").state, ActionState::kSucceeded);
  EXPECT_EQ(read_file(dir_.path() / "ran"), "ran\n");
}

TEST_F(RunnerTest, FailedAttemptsAreRetriedWithBackOffAndTheSameRequest) {
  Receiver receiver({500, 503});
  start(fmt::format(R"(      - id: failover
        title: Fail over
        action:
          type: webhook
          url: "{}/failover"
          body: '{{"service": "{{{{ .Labels.service }}}}", "title": "{{{{ .Incident.Title }}}}"}}')",
                    receiver.url()));
  const int64_t id = open_incident();
  EXPECT_EQ(update(), kStart + seconds(10));
  store::ActionRun run = run_of(id, "failover");
  EXPECT_EQ(run.state, ActionState::kPending);
  EXPECT_EQ(run.attempts, 1);
  EXPECT_EQ(run.last_result, "HTTP 500");
  EXPECT_EQ(run.last_output, R"({"error": "busy"})");

  clock_.advance(seconds(9));
  EXPECT_EQ(update(), kStart + seconds(10));
  EXPECT_EQ(receiver.requests().size(), 1u) << "retried before the back-off";
  clock_.advance(seconds(1));
  EXPECT_EQ(update(), kStart + seconds(70));  // then 60 s
  clock_.advance(seconds(60));
  EXPECT_EQ(update(), std::nullopt);

  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.header("idempotency-key"), fmt::format("tocsin-{}-failover", id));
    EXPECT_EQ(r.body, requests[0].body);
  }
  EXPECT_EQ(json::parse(requests[0].body), json({{"service", "api"}, {"title", "System crash: load 0.95 on h1"}}));
  run = run_of(id, "failover");
  EXPECT_EQ(run.state, ActionState::kSucceeded);
  EXPECT_EQ(run.attempts, 3);
  EXPECT_EQ(run.finished_at, kStart + seconds(70));
  const store::Incident inc = incident(id);
  EXPECT_EQ(action_kinds(inc),
            (std::vector<std::string>{"action_started", "action_attempt_failed", "action_started",
                                      "action_attempt_failed", "action_started", "action_succeeded"}));
  EXPECT_EQ(inc.timeline[inc.timeline.size() - 5].detail,
            "failover: HTTP 500 (attempt 1 of 3); next attempt at 2026-03-02T08:00:10Z: {\"error\": \"busy\"}");
}

TEST_F(RunnerTest, GivesUpAfterTheLastAttempt) {
  start(R"(      - {id: restart, title: Restart, action: {type: command, command: "echo no such unit >&2; exit 5"}})");
  const int64_t id = open_incident();
  for (auto next = update(); next; next = update()) clock_.advance_to(*next);
  const store::ActionRun run = run_of(id, "restart");
  EXPECT_EQ(run.state, ActionState::kFailed);
  EXPECT_EQ(run.attempts, 3);
  EXPECT_EQ(run.last_result, "exit status 5");
  EXPECT_EQ(run.last_output, "no such unit\n");
  EXPECT_EQ(run.finished_at, kStart + seconds(70));
  const store::Incident inc = incident(id);
  EXPECT_EQ(inc.timeline.back().kind, "action_failed");
  EXPECT_EQ(inc.timeline.back().detail, "restart: exit status 5 (attempt 3 of 3); no attempts left: no such unit\n");
}

TEST_F(RunnerTest, ACommandPastItsTimeoutIsKilledAndCountsAsAFailedAttempt) {
  RetryPolicy once;
  once.max_attempts = 1;
  start(
      R"(      - {id: restart, title: Restart, action: {type: command, command: "echo going; sleep 30", timeout: 200ms}})",
      once);
  const int64_t id = open_incident();
  EXPECT_EQ(update(), std::nullopt);
  const store::ActionRun run = run_of(id, "restart");
  EXPECT_EQ(run.state, ActionState::kFailed);
  EXPECT_EQ(run.last_result, "timed out after 200ms (process group killed)");
  EXPECT_EQ(run.last_output, "going\n");
}

TEST_F(RunnerTest, ATemplateThatFailsOnTheIncidentFailsTheRunWithoutSendingIt) {
  Receiver receiver;
  start(fmt::format(
      R"(      - {{id: failover, title: F, action: {{type: webhook, url: "{}/{{{{ if lt .Step 1 }}}}x{{{{ end }}}}"}}}})",
      receiver.url()));
  const int64_t id = open_incident();
  EXPECT_EQ(update(), std::nullopt);
  EXPECT_TRUE(receiver.requests().empty());
  const store::ActionRun run = run_of(id, "failover");
  EXPECT_EQ(run.state, ActionState::kFailed);
  EXPECT_EQ(run.attempts, 0);
  EXPECT_TRUE(run.last_result.starts_with("could not build the request: ")) << run.last_result;
  EXPECT_EQ(action_kinds(incident(id)), std::vector<std::string>{"action_failed"});
}

TEST(ActionRunner, BrokenTemplatesStopItFromStartingNamingPlanStepAndField) {
  test_support::TempDir dir;
  auto cfg = config::load_config_string(R"(plans:
  - id: crash
    steps:
      - {id: ok, title: OK, action: {type: webhook, url: "http://x/{{ .Incident.ID }}"}}
      - id: restart
        title: Restart
        action: {type: command, command: [systemctl, restart, "{{ .Labels.service "]}
)",
                                        "t.yaml", dir.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  core::SimulatedClock clock;
  RunnerOptions options;
  options.config = std::make_shared<const config::Config>(std::move(*cfg));
  options.clock = &clock;
  auto runner = ActionRunner::create(options);
  ASSERT_FALSE(runner.has_value());
  EXPECT_EQ(runner.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(runner.error().position().line, 7);
  EXPECT_EQ(runner.error().field(), "plans[0].steps[1].action.command[2]");
  EXPECT_TRUE(runner.error().message().starts_with("plan crash, step restart: bad template in action.command[2]: "))
      << runner.error().message();
  EXPECT_FALSE(ActionRunner::check_templates(*options.config).has_value());
}

TEST(ActionRunner, IdempotencyKeysAreValidHeaderValues) {
  EXPECT_EQ(ActionRunner::idempotency_key(12, "fail-over_2.x"), "tocsin-12-fail-over_2.x");
  EXPECT_EQ(ActionRunner::idempotency_key(3, "a b\r\nX: y"), "tocsin-3-a%20b%0D%0AX%3A%20y");
}

TEST(ActionState, OnlyTheMovesInTheTableAreAllowed) {
  using S = ActionState;
  EXPECT_TRUE(check_transition(S::kAwaitingApproval, S::kPending).has_value());
  EXPECT_TRUE(check_transition(S::kPending, S::kRunning).has_value());
  EXPECT_TRUE(check_transition(S::kRunning, S::kPending).has_value());
  EXPECT_TRUE(check_transition(S::kRunning, S::kSucceeded).has_value());
  EXPECT_TRUE(check_transition(S::kRunning, S::kFailed).has_value());
  EXPECT_FALSE(check_transition(S::kAwaitingApproval, S::kRunning).has_value());
  EXPECT_FALSE(check_transition(S::kSucceeded, S::kPending).has_value());
  EXPECT_FALSE(check_transition(S::kFailed, S::kRunning).has_value());
  EXPECT_EQ(check_transition(S::kPending, S::kPending).error().message(), "the action is already pending");
  EXPECT_EQ(check_transition(S::kSucceeded, S::kRunning).error().message(),
            "cannot move an action from succeeded to running");
}

}  // namespace
}  // namespace tocsin::action
