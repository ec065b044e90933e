#include "notify/exec/exec_sender.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/duration.h"

namespace tocsin::notify::exec {
namespace {

// How long a silent command may run before tocsin looks again whether it exited: it matters only
// when the command's own children keep its output open after it exited.
constexpr core::Duration kPollSlice = std::chrono::milliseconds(20);

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is there without blocking; closes `fd` at end of file. Keeps the first kMaxCaptured
// bytes and discards the rest.
void drain(Fd& fd, std::string& into) {
  char buffer[4096];
  while (fd.open()) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      const size_t room = kMaxCaptured - std::min(kMaxCaptured, into.size());
      into.append(buffer, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fd.reset();  // end of file, or an error: nothing more will come
  }
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string argv_address(std::span<const std::string> argv) {
  return nlohmann::json(std::vector<std::string>(argv.begin(), argv.end()))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::Result<std::vector<std::string>> parse_argv_address(std::string_view address) {
  const auto doc = nlohmann::json::parse(address, nullptr, /*allow_exceptions=*/false);
  bool ok = doc.is_array() && !doc.empty();
  std::vector<std::string> argv;
  if (ok) {
    for (const auto& a : doc) {
      if (!a.is_string()) {
        ok = false;
        break;
      }
      argv.push_back(a.get<std::string>());
    }
  }
  if (!ok || argv.front().empty()) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("bad exec address {}: expected a JSON array of strings, the command's argv", address)));
  }
  return argv;
}

CommandResult run_command(const Command& command, core::Clock& clock) {
  CommandResult result;
  if (command.argv.empty() || command.argv.front().empty()) {
    result.error = "empty command";
    return result;
  }
  // stdin is a socket so that writing to a command that closed it gives EPIPE (MSG_NOSIGNAL), not
  // a SIGPIPE that would end tocsin.
  int in_pair[2];
  int out_pipe[2];
  int err_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    result.error = fmt::format("socketpair: {}", ::strerror(errno));
    return result;
  }
  Fd in_parent(in_pair[0]), in_child(in_pair[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = fmt::format("pipe: {}", ::strerror(errno));
    return result;
  }
  Fd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.error = fmt::format("pipe: {}", ::strerror(errno));
    return result;
  }
  Fd err_parent(err_pipe[0]), err_child(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_adddup2(&actions, in_child.get(), 0);
  ::posix_spawn_file_actions_adddup2(&actions, out_child.get(), 1);
  ::posix_spawn_file_actions_adddup2(&actions, err_child.get(), 2);
  // Descriptors tocsin opened without O_CLOEXEC (sockets, the store) stay out of the command.
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // Its own process group (so a timeout can kill all it started), no blocked signals (tocsin's
  // threads block SIGTERM and SIGINT), and default dispositions.
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  ::posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> argv;
  for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : command.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const bool has_slash = command.argv.front().find('/') != std::string::npos;
  const int rc = has_slash ? ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data())
                           : ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  in_child.reset();
  out_child.reset();
  err_child.reset();
  if (rc != 0) {
    result.error = fmt::format("cannot run {}: {}", command.argv.front(), ::strerror(rc));
    return result;
  }
  result.started = true;

  set_nonblocking(in_parent.get());
  set_nonblocking(out_parent.get());
  set_nonblocking(err_parent.get());
  size_t written = 0;
  if (command.input.empty()) in_parent.reset();
  const core::MonoTime deadline = clock.mono_now() + command.timeout;
  core::Duration idle{0};  // time spent in polls that timed out
  int status = 0;
  int wait_errno = 0;
  bool exited = false;
  while (!exited) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w < 0 && errno != EINTR) {
      wait_errno = errno;
      break;
    }
    if (w == pid) {
      exited = true;
      break;
    }
    if (clock.mono_now() >= deadline || idle >= command.timeout) {
      ::kill(-pid, SIGKILL);  // the whole group: the command and whatever it started
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.timed_out = true;
      exited = true;
      break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    Fd* owners[3];
    if (in_parent.open()) {
      fds[n] = {in_parent.get(), POLLOUT, 0};
      owners[n++] = &in_parent;
    }
    if (out_parent.open()) {
      fds[n] = {out_parent.get(), POLLIN, 0};
      owners[n++] = &out_parent;
    }
    if (err_parent.open()) {
      fds[n] = {err_parent.get(), POLLIN, 0};
      owners[n++] = &err_parent;
    }
    const auto left = std::chrono::duration_cast<core::Duration>(deadline - clock.mono_now());
    const auto slice = std::clamp(left, core::Duration(1), std::chrono::duration_cast<core::Duration>(kPollSlice));
    const int ready = ::poll(fds, n, static_cast<int>(slice.count()));
    if (ready == 0) idle += slice;
    if (ready <= 0) continue;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (owners[i] == &in_parent) {
        const ssize_t sent = ::send(in_parent.get(), command.input.data() + written, command.input.size() - written,
                                    MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0) written += static_cast<size_t>(sent);
        // Done, or the command closed its stdin (EPIPE): either way nothing more goes in.
        const bool failed = sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
        if (written == command.input.size() || failed) in_parent.reset();
      } else {
        drain(*owners[i], owners[i] == &out_parent ? result.out : result.err);
      }
    }
  }
  // What the command wrote before it exited; its children's later output is not waited for.
  drain(out_parent, result.out);
  drain(err_parent, result.err);
  if (exited && !result.timed_out) {
    if (WIFEXITED(status)) {
      result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
  } else if (!exited) {
    result.error = fmt::format("waiting for the command failed: {}", ::strerror(wait_errno));
  }
  return result;
}

ExecSender::ExecSender(core::Clock& clock, std::map<std::string, core::Duration> timeouts,
                       std::vector<std::string> base_env, core::Duration default_timeout)
    : clock_(clock), timeouts_(std::move(timeouts)), base_env_(std::move(base_env)), default_timeout_(default_timeout) {}

DeliveryResult ExecSender::send(const store::Notification& n) {
  auto argv = parse_argv_address(n.address);
  if (!argv) return {false, 0, argv.error().message(), false};
  constexpr std::string_view kChannel = "channel:";
  const std::string channel = std::string_view(n.target).starts_with(kChannel) ? n.target.substr(kChannel.size()) : "";
  Command command;
  command.argv = std::move(*argv);
  command.input = n.payload;
  auto timeout = timeouts_.find(channel);
  command.timeout = timeout != timeouts_.end() ? timeout->second : default_timeout_;
  command.env = base_env_;
  command.env.push_back("TOCSIN_TARGET=" + n.target);
  command.env.push_back("TOCSIN_CHANNEL=" + channel);
  command.env.push_back(fmt::format("TOCSIN_NOTIFICATION_ID={}", n.id));
  if (n.incident_id != 0) command.env.push_back(fmt::format("TOCSIN_INCIDENT_ID={}", n.incident_id));
  command.env.push_back(fmt::format("TOCSIN_ATTEMPT={}", n.attempts + 1));

  const CommandResult r = run_command(command, clock_);
  if (!r.started) return {false, 0, r.error, false};
  std::string output;
  if (const auto err = trimmed(r.err); !err.empty()) output += fmt::format("; stderr: {}", err);
  if (const auto out = trimmed(r.out); !out.empty()) output += fmt::format("; stdout: {}", out);
  if (r.timed_out) {
    return {false, 0,
            fmt::format("{} timed out after {}; its process group was killed{}", command.argv.front(),
                        core::format_duration(command.timeout), output),
            true};
  }
  if (r.signal != 0) {
    return {false, 128 + r.signal,
            fmt::format("{} was killed by signal {} ({}){}", command.argv.front(), r.signal, ::strsignal(r.signal),
                        output),
            true};
  }
  if (r.exit_status == 0) return {true, 0, "", false};
  if (!r.error.empty()) return {false, 0, r.error, true};
  return {false, r.exit_status, fmt::format("{} exited with status {}{}", command.argv.front(), r.exit_status, output),
          true};
}

}  // namespace tocsin::notify::exec
