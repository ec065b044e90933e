// The real executor against real processes and a real local HTTP server: what a command sees
// (argv, stdin, environment), what comes back (exit status, output, truncation), that a timeout
// kills the whole process group, and what a webhook sends (Idempotency-Key, body) and gets back.
#include "action/system_executor.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "http/http.h"
#include "test_support/temp_dir.h"

namespace tocsin::action {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ActionRequest command(std::vector<std::string> argv, core::Duration timeout = seconds(10)) {
  ActionRequest r;
  r.type = ActionRequest::Type::kCommand;
  r.argv = std::move(argv);
  r.timeout = timeout;
  return r;
}

// Whether a process is gone (or a zombie nobody reaped, which is as dead).
bool gone(pid_t pid) {
  const std::string stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (stat.empty()) return true;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

TEST(SystemExecutor, CommandGetsArgvStdinAndEnvironmentWithoutAShell) {
  test_support::TempDir dir;
  SystemExecutor executor;
  ActionRequest r = command({"/bin/sh", "-c",
                             "cat > \"$0/stdin\"; printf '%s|%s|%s|%s' \"$TOCSIN_INCIDENT_ID\" \"$TOCSIN_STEP\" "
                             "\"$TOCSIN_IDEMPOTENCY_KEY\" \"$1\" > \"$0/env\"; echo out; echo err >&2",
                             dir.path().string(), "two words; $(not expanded)"});
  r.body = R"({"incident": {"id": "7"}})";
  r.env = {{"TOCSIN_INCIDENT_ID", "7"}, {"TOCSIN_STEP", "restart"}, {"TOCSIN_IDEMPOTENCY_KEY", "tocsin-7-restart"}};
  const ActionOutcome outcome = executor.run(r);
  EXPECT_TRUE(outcome.ok) << outcome.result;
  EXPECT_EQ(outcome.status, 0);
  EXPECT_EQ(outcome.result, "exit status 0");
  EXPECT_EQ(outcome.output, "out\nerr\n");
  EXPECT_EQ(read_file(dir.path() / "stdin"), r.body);
  EXPECT_EQ(read_file(dir.path() / "env"), "7|restart|tocsin-7-restart|two words; $(not expanded)");
}

TEST(SystemExecutor, NonZeroExitIsAFailureWithItsOutput) {
  SystemExecutor executor;
  const ActionOutcome outcome = executor.run(command({"/bin/sh", "-c", "echo 'disk full' >&2; exit 3"}));
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.status, 3);
  EXPECT_EQ(outcome.result, "exit status 3");
  EXPECT_EQ(outcome.output, "disk full\n");
}

TEST(SystemExecutor, ArgvZeroIsLookedUpInPathAndAMissingOneIsReported) {
  SystemExecutor executor;
  EXPECT_TRUE(executor.run(command({"true"})).ok);
  const ActionOutcome missing = executor.run(command({"/nonexistent/tocsin-action"}));
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.result, "could not start /nonexistent/tocsin-action: No such file or directory");
}

TEST(SystemExecutor, OutputIsCutAt4KBOnACharacterBoundary) {
  SystemExecutor executor;
  // 4095 ASCII bytes, then two-byte characters: the first of them does not fit whole.
  const ActionOutcome outcome = executor.run(
      command({"/bin/sh", "-c", "head -c 4095 /dev/zero | tr '\\0' a; for i in $(seq 1 5000); do printf 'é'; done"}));
  EXPECT_TRUE(outcome.ok) << outcome.result;
  EXPECT_EQ(outcome.output, std::string(4095, 'a'));
  EXPECT_EQ(clean_output("ok \xff\xfe!"), "ok \xEF\xBF\xBD\xEF\xBF\xBD!");
}

TEST(SystemExecutor, ACommandThatIgnoresStdinDoesNotHurtTheServer) {
  SystemExecutor executor;
  ActionRequest r = command({"/bin/sh", "-c", "exec 0<&-; echo closed"});
  r.body = std::string(1 << 20, 'x');  // more than a pipe holds: the write meets a closed pipe
  const ActionOutcome outcome = executor.run(r);
  EXPECT_TRUE(outcome.ok) << outcome.result;
  EXPECT_EQ(outcome.output, "closed\n");
}

TEST(SystemExecutor, TimeoutKillsTheWholeProcessGroup) {
  test_support::TempDir dir;
  SystemExecutor executor;
  // The shell starts a background sleeper (same process group), records its pid, then sleeps.
  const auto pid_file = dir.path() / "child.pid";
  const ActionOutcome outcome = executor.run(
      command({"/bin/sh", "-c", fmt::format("sleep 30 & echo $! > {}; echo started; sleep 30", pid_file.string())},
              milliseconds(300)));
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.result, "timed out after 300ms (process group killed)");
  EXPECT_EQ(outcome.output, "started\n");
  const pid_t child = std::stoi(read_file(pid_file));
  for (int i = 0; i < 100 && !gone(child); ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_TRUE(gone(child)) << "the background child " << child << " outlived the timeout";
}

TEST(SystemExecutor, ABackgroundChildHoldingTheOutputDoesNotHoldUpTheResult) {
  SystemExecutor executor;
  // The shell exits at once; its child keeps stdout open for 30 s.
  const ActionOutcome outcome = executor.run(command({"/bin/sh", "-c", "sleep 30 & echo $!"}, seconds(20)));
  EXPECT_TRUE(outcome.ok) << outcome.result;
  ASSERT_FALSE(outcome.output.empty());
  kill(std::stoi(outcome.output), SIGKILL);
}

// A local HTTP server answering with the given statuses in turn (then 200), recording requests.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses = {}, milliseconds delay = milliseconds(0))
      : statuses_(std::move(statuses)), delay_(delay) {
    server_ = http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
                std::this_thread::sleep_for(delay_);
                std::lock_guard lock(mu_);
                requests_.push_back(r);
                const int status = next_ < statuses_.size() ? statuses_[next_++] : 200;
                return http::Response::json(status, fmt::format(R"({{"answer": {}}})", status));
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
  milliseconds delay_;
  std::vector<http::Request> requests_;
  std::unique_ptr<http::Server> server_;
};

ActionRequest webhook(std::string url, core::Duration timeout = seconds(5)) {
  ActionRequest r;
  r.type = ActionRequest::Type::kWebhook;
  r.url = std::move(url);
  r.body = R"({"step": "failover"})";
  r.idempotency_key = "tocsin-1-failover";
  r.timeout = timeout;
  return r;
}

TEST(SystemExecutor, WebhookPostsTheBodyWithTheIdempotencyKey) {
  Receiver receiver({503});
  SystemExecutor executor;
  const ActionOutcome failed = executor.run(webhook(receiver.url() + "/failover"));
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.result, "HTTP 503");
  EXPECT_EQ(failed.output, R"({"answer": 503})");
  const ActionOutcome ok = executor.run(webhook(receiver.url() + "/failover"));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.result, "HTTP 200");
  EXPECT_EQ(ok.output, R"({"answer": 200})");
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/failover");
    EXPECT_EQ(r.header("idempotency-key"), "tocsin-1-failover");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.body, R"({"step": "failover"})");
  }
}

TEST(SystemExecutor, WebhookTimeoutAndRefusedConnectionAreFailures) {
  Receiver slow({}, milliseconds(700));
  SystemExecutor executor;
  const ActionOutcome timed_out = executor.run(webhook(slow.url(), milliseconds(200)));
  EXPECT_FALSE(timed_out.ok);
  EXPECT_EQ(timed_out.result, "timed out after 200ms");
  std::string closed_url;
  {
    Receiver gone_soon;
    closed_url = gone_soon.url();
  }
  const ActionOutcome refused = executor.run(webhook(closed_url));
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(refused.result.starts_with("POST failed: ")) << refused.result;
}

}  // namespace
}  // namespace tocsin::action
