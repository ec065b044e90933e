// The real Executor: a webhook is an HTTP POST with libcurl, a command is a process started with
// posix_spawn — no shell unless the argv names one.
//
// Webhook: Content-Type application/json, the Idempotency-Key header, the request's timeout for
// the whole exchange; 2xx is success. Command: argv[0] is looked up in PATH; the body on stdin;
// stdout and stderr share one pipe (so the output keeps their interleaving); the server's
// environment plus the request's `env`; the process leads a new process group, and at the timeout
// the whole group is killed (SIGKILL), so children it started do not outlive it. Exit status 0 is
// success. The executor waits for the process, not for descendants that keep its output open.
// The timeout is kept by the kernel (a timerfd), not read from a clock.
// Thread-safety: one run() at a time per instance (the curl handle is reused).
#pragma once

#include <string>
#include <string_view>

#include "action/executor.h"

namespace tocsin::action {

class SystemExecutor final : public Executor {
 public:
  SystemExecutor();
  ~SystemExecutor() override;
  SystemExecutor(const SystemExecutor&) = delete;
  SystemExecutor& operator=(const SystemExecutor&) = delete;

  ActionOutcome run(const ActionRequest& request) override;

 private:
  ActionOutcome post(const ActionRequest& request);
  ActionOutcome spawn(const ActionRequest& request);

  void* curl_;  // CURL*
};

// The first kMaxOutputBytes of `raw`, cut at a character boundary, with bytes that are not
// UTF-8 replaced by U+FFFD.
std::string clean_output(std::string_view raw);

}  // namespace tocsin::action
