// An Executor carries out one attempt of a step's automated action: an HTTP POST (webhook) or a
// process (command). The runner (runner.h) decides what to send, when, and how often; an Executor
// only does it once and reports what happened. The composition root picks the implementation
// (system_executor.h is the real one); drills and tests may pass their own.
// Thread-safety: run() may be called from one thread at a time per executor.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/time.h"

namespace tocsin::action {

// How much of a response body, or of a command's stdout+stderr, is kept.
inline constexpr size_t kMaxOutputBytes = 4096;

// One attempt, fully rendered. The same request is sent on every retry.
struct ActionRequest {
  enum class Type { kWebhook, kCommand };
  Type type = Type::kWebhook;
  std::string url;                         // webhook
  std::vector<std::string> argv;           // command: argv[0] is looked up in PATH
  std::string body;                        // webhook: the POST body; command: its stdin
  std::map<std::string, std::string> env;  // command: added to the server's environment
  std::string idempotency_key;             // webhook: the Idempotency-Key header
  core::Duration timeout = std::chrono::seconds(30);
};

struct ActionOutcome {
  bool ok = false;
  int status = 0;      // HTTP status or exit status; 0 when there is none
  std::string result;  // one line: "HTTP 200", "exit status 1", "timed out after 30s", "…: connection refused"
  std::string output;  // the first kMaxOutputBytes of the body or of stdout+stderr, valid UTF-8
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual ActionOutcome run(const ActionRequest& request) = 0;
};

}  // namespace tocsin::action
