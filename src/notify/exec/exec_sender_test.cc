// Real processes (/bin/sh) on the real clock.
#include "notify/exec/exec_sender.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "test_support/temp_dir.h"

namespace tocsin::notify::exec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ExecTest : public ::testing::Test {
 protected:
  store::Notification notification(std::vector<std::string> argv, std::string target = "channel:runner") {
    store::Notification n;
    n.id = 17;
    n.incident_id = 5;
    n.target = std::move(target);
    n.channel = "exec";
    n.address = argv_address(argv);
    n.payload = R"({"event":"incident.page"})";
    n.attempts = 1;
    return n;
  }
  ExecSender sender(std::map<std::string, core::Duration> timeouts = {{"runner", seconds(5)}}) {
    return ExecSender(clock_, std::move(timeouts), {"PATH=/usr/bin:/bin"});
  }

  core::SystemClock clock_;
  test_support::TempDir dir_;
};

TEST(ExecAddress, ArgvRoundTripsThroughTheAddress) {
  const std::vector<std::string> argv{"/usr/bin/notify", "--to", "ops team", "it's \"quoted\"", "a\\b", "日本"};
  const std::string address = argv_address(argv);
  EXPECT_EQ(parse_argv_address(address).value(), argv);
  EXPECT_FALSE(parse_argv_address("notify --to ops").has_value());
  EXPECT_FALSE(parse_argv_address("[]").has_value());
  EXPECT_FALSE(parse_argv_address(R"(["a", 1])").has_value());
  EXPECT_FALSE(parse_argv_address(R"([""])").has_value());
}

TEST_F(ExecTest, SuccessGetsThePayloadOnStdinAndTheEnvironment) {
  const auto out = dir_.path() / "out";
  auto s = sender();
  const auto result = s.send(notification(
      {"/bin/sh", "-c",
       "cat > \"$1\"; printf '\\n%s|%s|%s|%s|%s|%s' \"$TOCSIN_TARGET\" \"$TOCSIN_CHANNEL\" \"$TOCSIN_INCIDENT_ID\" "
       "\"$TOCSIN_NOTIFICATION_ID\" \"$TOCSIN_ATTEMPT\" \"${HOME:-nohome}\" >> \"$1\"",
       "sh", out.string()}));
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status_code, 0);
  EXPECT_EQ(read_file(out), "{\"event\":\"incident.page\"}\nchannel:runner|runner|5|17|2|nohome");
}

TEST_F(ExecTest, CommandsAreLookedUpInPath) {
  auto s = sender();
  EXPECT_TRUE(s.send(notification({"true"})).ok);
}

TEST_F(ExecTest, NonZeroExitFailsWithStatusAndOutput) {
  auto s = sender();
  const auto result = s.send(notification({"/bin/sh", "-c", "echo to-out; echo 'boom: disk full' >&2; exit 3"}));
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.retryable);
  EXPECT_EQ(result.status_code, 3);
  EXPECT_EQ(result.error, "/bin/sh exited with status 3; stderr: boom: disk full; stdout: to-out");
}

TEST_F(ExecTest, AMissingProgramIsNotRetried) {
  auto s = sender();
  const auto result = s.send(notification({"/nonexistent/notify"}));
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.retryable);
  EXPECT_NE(result.error.find("cannot run /nonexistent/notify"), std::string::npos) << result.error;
}

TEST_F(ExecTest, TimeoutKillsTheWholeProcessGroup) {
  const auto pid_file = dir_.path() / "child.pid";
  auto s = sender({{"runner", milliseconds(300)}});
  const auto started = clock_.mono_now();
  // The shell starts a background sleep (same process group), records its pid, then waits.
  const auto result = s.send(notification(
      {"/bin/sh", "-c", "sleep 30 & echo $! > \"$1\"; echo started; wait", "sh", pid_file.string()}));
  const auto took = clock_.mono_now() - started;
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.retryable);
  EXPECT_NE(result.error.find("timed out after 300ms; its process group was killed; stdout: started"),
            std::string::npos)
      << result.error;
  EXPECT_LT(took, seconds(5));
  const pid_t child = std::stoi(read_file(pid_file));
  // The background sleep was killed with the group (give the kernel a moment to reap it: its
  // parent, the shell, is gone, so init adopts and reaps it).
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    // Dead: no such process, or a zombie waiting for a reaper (PID 1 in a container may not reap).
    const std::string stat = read_file(fmt::format("/proc/{}/stat", child));
    const size_t paren = stat.rfind(')');
    gone = ::kill(child, 0) != 0 || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z");
    if (!gone) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(gone) << "background child " << child << " survived the timeout";
}

TEST_F(ExecTest, ACommandThatIgnoresStdinDoesNotHurtTocsin) {
  // More input than a socket buffer holds, to a command that exits without reading: tocsin gets
  // EPIPE, not SIGPIPE.
  Command c;
  c.argv = {"/bin/sh", "-c", "exit 0"};
  c.input = std::string(4 << 20, 'x');
  c.timeout = seconds(5);
  const auto r = run_command(c, clock_);
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 0);
}

TEST_F(ExecTest, OutputIsCapturedUpToABound) {
  Command c;
  c.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; exit 1"};
  c.env = {"PATH=/usr/bin:/bin"};
  c.timeout = seconds(5);
  const auto r = run_command(c, clock_);
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.out, std::string(kMaxCaptured, 'a'));
}

TEST_F(ExecTest, ASignalIsReported) {
  auto s = sender();
  const auto result = s.send(notification({"/bin/sh", "-c", "kill -TERM $$"}));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.status_code, 128 + SIGTERM);
  EXPECT_NE(result.error.find("killed by signal 15"), std::string::npos) << result.error;
}

}  // namespace
}  // namespace tocsin::notify::exec
