// The composition root of a running tocsin: the only place (with cli/) that names concrete
// types. It loads the config, opens the store, builds the engine with the real clock and the
// real senders, serves the HTTP API, and drives the engine's reconcile modules: after every
// write that may have made work due, and at the time the engine says it next has work.
//
// With a simulated clock (tests and drills only) the engine, the API and the collector run on a
// core::SimulatedClock that stands still until POST /api/v1/clock/advance moves it; an advance
// runs the engine at every moment something falls due on the way, deliveries included, before
// it answers. Writes still wake the driver at once, as with the real clock.
// Thread-safety: Runtime methods are called from one thread at a time (`tocsin demo` lends it to
// its player thread, and stops it only after joining that thread).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/sample.h"

namespace tocsin::engine {
class Engine;
}
namespace tocsin::store {
class Store;
}

namespace tocsin::server {

struct ServeOptions {
  std::filesystem::path config_path;
  std::string listen_override;  // non-empty: replaces server.listen
  // Set: run on a simulated clock starting at this instant (tocsin serve --simulated-clock).
  std::optional<core::Timestamp> simulated_clock_start;
};

class Runtime {
 public:
  static core::Result<std::unique_ptr<Runtime>> start(const ServeOptions& options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  uint16_t port() const;
  std::string base_url() const;  // https://… when server.tls is set
  // Re-reads server.tls's certificate and key for new connections (SIGHUP); on error the
  // server keeps the ones it had. failed_precondition without server.tls.
  core::Status reload_tls();
  // Ingests samples the way every ingestion path does.
  core::Status ingest(const std::vector<core::Sample>& samples);
  // What `tocsin demo` plays its drills against (thread-safe, like the engine and the store).
  engine::Engine& engine();
  store::Store& store();
  // The engine's clock: simulated with --simulated-clock, else real.
  core::Timestamp now() const;
  // --simulated-clock only (failed_precondition otherwise): moves the clock to `to`, running the
  // engine at every instant something falls due on the way and at `to` — what
  // POST /api/v1/clock/advance does — and returns the engine's next due time after that.
  core::Result<std::optional<core::Timestamp>> advance_to(core::Timestamp to);
  void stop();

 private:
  struct Impl;
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks SIGTERM and SIGINT in the calling thread (call before starting any thread, so every
// thread inherits the mask), and returns once one of them arrives.
void block_shutdown_signals();
int wait_for_shutdown_signal();

// `tocsin serve`: runs until SIGTERM/SIGINT, then shuts down gracefully. SIGHUP re-reads
// server.tls's certificate and key (Runtime::reload_tls) and serves on.
core::Status serve(const ServeOptions& options);

}  // namespace tocsin::server
