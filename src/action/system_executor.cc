#include "action/system_executor.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/duration.h"
#include "core/utf8.h"

extern char** environ;

namespace tocsin::action {
namespace {

// Raw bytes kept before cleaning: a little more than the limit, so that a character cut at the
// limit can still be completed.
constexpr size_t kRawCapture = kMaxOutputBytes + 4;

size_t capture(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t bytes = size * n;
  if (out->size() < kRawCapture) out->append(data, std::min(bytes, kRawCapture - out->size()));
  return bytes;  // the rest is read and dropped, so the exchange completes
}

// curl_global_init is not thread-safe; do it once before any handle exists.
void curl_global_once() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

std::string errno_text(int err) { return std::strerror(err); }

// Closes a file descriptor once; -1 means closed.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// The server's environment with the request's variables set (replacing any of the same name).
std::vector<std::string> environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const std::string name(entry.substr(0, entry.find('=')));
    if (!extra.contains(name)) out.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Blocks SIGPIPE in this thread while it lives: writing to a child that closed its stdin gives
// EPIPE instead of killing the server. A SIGPIPE raised meanwhile is consumed before unblocking.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlock() {
    if (raised_) {
      const timespec zero{};
      while (sigtimedwait(&set_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  void raised() { raised_ = true; }

 private:
  sigset_t set_;
  sigset_t old_;
  bool raised_ = false;
};

}  // namespace

std::string clean_output(std::string_view raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    size_t n = core::utf8_sequence_length(raw, i);
    const std::string_view piece = n > 0 ? raw.substr(i, n) : std::string_view("\xEF\xBF\xBD");
    if (out.size() + piece.size() > kMaxOutputBytes) break;
    out += piece;
    i += n > 0 ? n : 1;
  }
  return out;
}

SystemExecutor::SystemExecutor() {
  curl_global_once();
  curl_ = curl_easy_init();
}

SystemExecutor::~SystemExecutor() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

ActionOutcome SystemExecutor::run(const ActionRequest& request) {
  return request.type == ActionRequest::Type::kWebhook ? post(request) : spawn(request);
}

ActionOutcome SystemExecutor::post(const ActionRequest& request) {
  auto* curl = static_cast<CURL*>(curl_);
  if (!curl) return {false, 0, "could not create an HTTP client", ""};
  curl_easy_reset(curl);
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: tocsin");
  const std::string key_header = fmt::format("Idempotency-Key: {}", request.idempotency_key);
  headers = curl_slist_append(headers, key_header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, capture);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return {false, 0, fmt::format("timed out after {}", core::format_duration(request.timeout)), clean_output(body)};
  }
  if (rc != CURLE_OK) {
    return {false, 0, fmt::format("POST failed: {}", error[0] ? error : curl_easy_strerror(rc)), clean_output(body)};
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  const int code = static_cast<int>(status);
  return {code >= 200 && code < 300, code, fmt::format("HTTP {}", code), clean_output(body)};
}

ActionOutcome SystemExecutor::spawn(const ActionRequest& request) {
  if (request.argv.empty() || request.argv.front().empty()) return {false, 0, "no command to run", ""};
  SigpipeBlock sigpipe;
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return {false, 0, fmt::format("pipe: {}", errno_text(errno)), ""};
  Fd in_read(in[0]);
  Fd in_write(in[1]);
  if (pipe2(out, O_CLOEXEC) != 0) return {false, 0, fmt::format("pipe: {}", errno_text(errno)), ""};
  Fd out_read(out[0]);
  Fd out_write(out[1]);
  Fd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timer) return {false, 0, fmt::format("timerfd: {}", errno_text(errno)), ""};

  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&files, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&files, out_write.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&files, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A new process group (to kill it whole at the timeout), no blocked signals (the server blocks
  // SIGTERM and SIGINT for its signal thread), and default dispositions for those a parent may
  // ignore.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::vector<std::string> args = request.argv;
  std::vector<std::string> env = environment(request.env);
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &files, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) return {false, 0, fmt::format("could not start {}: {}", request.argv[0], errno_text(spawned)), ""};
  in_read.reset();
  out_write.reset();

  itimerspec deadline{};
  const auto ms = std::max<int64_t>(request.timeout.count(), 1);
  deadline.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  deadline.it_value.tv_nsec = static_cast<long>(ms % 1000) * 1000000L;
  timerfd_settime(timer.get(), 0, &deadline, nullptr);
  // pidfd: readable when the process exits. Without it (old kernels) poll every 10 ms.
  // (The raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C".)
  Fd exited_fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (request.body.empty()) in_write.reset();
  set_nonblocking(in_write.get());
  set_nonblocking(out_read.get());

  std::string raw;
  size_t written = 0;
  bool timed_out = false;
  int wait_status = 0;
  auto drain = [&] {
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(out_read.get(), buf, sizeof buf);
      if (n > 0) {
        if (raw.size() < kRawCapture) raw.append(buf, std::min(static_cast<size_t>(n), kRawCapture - raw.size()));
        continue;
      }
      if (n == 0 || (errno != EINTR && errno != EAGAIN)) out_read.reset();  // EOF, or broken
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  };
  for (;;) {
    const pid_t reaped = waitpid(pid, &wait_status, WNOHANG);
    if (reaped == pid || (reaped < 0 && errno == ECHILD)) break;
    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {timer.get(), POLLIN, 0};
    if (out_read) fds[n++] = {out_read.get(), POLLIN, 0};
    if (in_write) fds[n++] = {in_write.get(), POLLOUT, 0};
    if (exited_fd) fds[n++] = {exited_fd.get(), POLLIN, 0};
    if (poll(fds, n, exited_fd ? -1 : 10) < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == timer.get()) {
        timed_out = true;
      } else if (fds[i].fd == out_read.get()) {
        drain();
      } else if (fds[i].fd == in_write.get()) {
        const ssize_t w = ::write(in_write.get(), request.body.data() + written, request.body.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno == EPIPE) sigpipe.raised();
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == request.body.size()) in_write.reset();
      }
    }
    if (timed_out) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
  }
  // What the process wrote before it ended; a descendant that keeps the pipe open is not waited for.
  if (out_read) drain();
  ActionOutcome outcome;
  outcome.output = clean_output(raw);
  if (timed_out) {
    outcome.result = fmt::format("timed out after {} (process group killed)", core::format_duration(request.timeout));
  } else if (WIFEXITED(wait_status)) {
    outcome.status = WEXITSTATUS(wait_status);
    outcome.ok = outcome.status == 0;
    outcome.result = fmt::format("exit status {}", outcome.status);
  } else if (WIFSIGNALED(wait_status)) {
    outcome.result = fmt::format("killed by signal {} ({})", WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
  } else {
    outcome.result = "ended in an unknown way";
  }
  return outcome;
}

}  // namespace tocsin::action
