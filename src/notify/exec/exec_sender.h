// Delivers "exec" notifications by running a command: the channel's argv, without a shell, with
// the payload (tocsin JSON) on stdin. Exit status 0 is success; anything else, a signal or the
// timeout (the channel's `timeout`) is a failure, retried, whose error holds the status and the
// start of what the command wrote to stderr and stdout. On timeout the command's whole process
// group is killed (SIGKILL): it runs in a group of its own.
//
// The command does not inherit tocsin's environment, which may hold secrets: it gets the
// `base_env` the composition root passes (PATH, HOME, LANG, TZ), plus
//   TOCSIN_TARGET           what the page or route named: "channel:NAME"
//   TOCSIN_CHANNEL          the channel name
//   TOCSIN_NOTIFICATION_ID  the notification's id
//   TOCSIN_INCIDENT_ID      the incident's id (pages only)
//   TOCSIN_ATTEMPT          1 for the first try, then 2, …
//
// A notification's address is the argv as a JSON array of strings (argv_address), so any
// argument, spaces and quotes included, survives the round trip through the store.
// Thread-safety: send() and run_command() are reentrant (the delivery lanes run sends at once).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "notify/sender.h"

namespace tocsin::notify::exec {

// ["/usr/bin/notify", "--to", "ops team"] as a JSON array.
std::string argv_address(std::span<const std::string> argv);
// The inverse; invalid_argument unless a non-empty JSON array of strings.
core::Result<std::vector<std::string>> parse_argv_address(std::string_view address);

struct Command {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in tocsin's PATH
  std::vector<std::string> env;   // "NAME=value", the whole environment
  std::string input;              // written to stdin, which is then closed
  core::Duration timeout = std::chrono::seconds(10);
};

struct CommandResult {
  bool started = false;  // false: could not be started (error says why)
  bool timed_out = false;
  int exit_status = -1;  // when it exited
  int signal = 0;        // when a signal ended it
  std::string out;       // the first kMaxCaptured bytes of stdout
  std::string err;       // likewise for stderr
  std::string error;     // why it could not start
};

inline constexpr size_t kMaxCaptured = 4096;

// Runs the command and waits for it to exit or time out. Never throws; signals are reset to
// their defaults and unblocked in the child, and no descriptor of tocsin's is inherited. The
// timeout is measured on `clock`'s monotonic time and by the time spent waiting, whichever says
// first that it passed.
CommandResult run_command(const Command& command, core::Clock& clock);

class ExecSender final : public Sender {
 public:
  // `timeouts`: exec channel name -> its timeout.
  ExecSender(core::Clock& clock, std::map<std::string, core::Duration> timeouts, std::vector<std::string> base_env,
             core::Duration default_timeout = std::chrono::seconds(10));
  DeliveryResult send(const store::Notification& n) override;

 private:
  core::Clock& clock_;
  std::map<std::string, core::Duration> timeouts_;
  std::vector<std::string> base_env_;
  core::Duration default_timeout_;
};

}  // namespace tocsin::notify::exec
