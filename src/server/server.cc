#include "server/server.h"

#include <fmt/format.h>
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <mutex>

#include "action/system_executor.h"
#include "api/router.h"
#include "collect/collector.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "http/http.h"
#include "report/kpi_metrics.h"
#include "server/auth_secrets.h"
#include "server/notifiers.h"
#include "server/sample_forwarder.h"
#include "server/step_loop.h"
#include "server/store_factory.h"
#include "store/sqlite/storage_health.h"

namespace tocsin::server {

namespace {

// The clock of a server started with --simulated-clock: wall time and timers from the
// SimulatedClock, elapsed-time measurements from the real monotonic clock. Why: mono_now() only
// measures how long real work took (request and delivery latency, rule evaluation time), and a
// request that advances the simulated clock by ten minutes did not take ten minutes.
class SimulatedWallClock final : public core::Clock {
 public:
  SimulatedWallClock(core::SimulatedClock& wall, const core::Clock& real) : wall_(wall), real_(real) {}
  core::Timestamp now() const override { return wall_.now(); }
  core::MonoTime mono_now() const override { return real_.mono_now(); }
  core::TimerId schedule_at(core::Timestamp at, core::TimerCallback fn) override {
    return wall_.schedule_at(at, std::move(fn));
  }
  bool cancel(core::TimerId id) override { return wall_.cancel(id); }

 private:
  core::SimulatedClock& wall_;
  const core::Clock& real_;
};

// Drives the engine on a simulated clock. An advance works like src/engine/engine_test.cc's
// run_until: the engine runs at every instant it reports work due up to the target, with the
// clock set to that instant (firing the clock's timers on the way), then once more at the target;
// deliveries happen inside those runs, so when advance_to returns everything due up to the new
// time has run. The driver thread's passes after writes take the same mutex: an advance never
// interleaves with one.
class SimulatedTime final : public api::ClockControl {
 public:
  using Pass = std::function<core::Result<std::optional<core::Timestamp>>()>;
  SimulatedTime(core::SimulatedClock& clock, Pass pass, std::function<void()> housekeeping)
      : clock_(clock), pass_(std::move(pass)), housekeeping_(std::move(housekeeping)) {}

  core::Timestamp now() const override { return clock_.now(); }

  core::Result<core::Timestamp> advance_to(core::Timestamp to) override {
    TOCSIN_TRY(advance(to));
    return clock_.now();
  }

  // advance_to, returning the engine's next due time after its last pass at `to`.
  core::Result<std::optional<core::Timestamp>> advance(core::Timestamp to) {
    std::lock_guard lock(mu_);
    int passes_here = 0;  // engine passes since the clock last moved
    for (;;) {
      const auto next = TOCSIN_TRY(pass_());
      if (!next || *next > to) break;
      const core::Timestamp before = clock_.now();
      clock_.advance_to(std::max(*next, before));
      passes_here = clock_.now() == before ? passes_here + 1 : 0;
      if (passes_here > kMaxPassesAtOneInstant) {
        return std::unexpected(core::Error::internal(fmt::format(
            "the engine still reports work due at {} after {} passes", core::format_rfc3339(before), passes_here)));
      }
    }
    clock_.advance_to(std::max(to, clock_.now()));
    const auto next = TOCSIN_TRY(pass_());
    housekeeping_();
    return next;
  }

  // One engine pass at the current simulated time (the driver thread, after a write). Time moves
  // only in advance_to, which runs what falls due itself: the driver arms no timer.
  core::Result<std::optional<core::Timestamp>> run_now() {
    std::lock_guard lock(mu_);
    TOCSIN_TRY(pass_());
    housekeeping_();
    return std::optional<core::Timestamp>();
  }

 private:
  static constexpr int kMaxPassesAtOneInstant = 10'000;
  core::SimulatedClock& clock_;
  Pass pass_;
  std::function<void()> housekeeping_;
  std::mutex mu_;
};

// This replica's engine lease terms (engine/lease.h). server.replica_id, or
// "<hostname>:<port>-<random>": unique per start, so a restarted replica is a new member (it
// takes the lease back like any standby). With the embedded SQLite store this process is the only
// one on it: the lease is taken at start for a day at a time and server.lease does not apply.
engine::LeaseOptions lease_options(const config::ServerConfig& server, uint16_t port, const std::string& address) {
  engine::LeaseOptions lease;
  lease.address = address;
  lease.replica_id = server.replica_id;
  if (lease.replica_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "tocsin");
    std::random_device random;
    lease.replica_id = fmt::format("{}:{}-{:06x}", host, port, random() & 0xffffff);
  }
  lease.exclusive_store = server.store.empty();
  if (!lease.exclusive_store) {
    lease.ttl = server.lease.ttl;
    lease.renew_every = server.lease.renew_every;
  }
  return lease;
}

// Intake requests handled at once while their samples may be forwarded to other replicas (each
// waits at most the forwarder's timeout); more wait in line without holding up the io thread.
constexpr int kForwardingRequestThreads = 8;

// Whether a listen host only takes connections from this machine.
bool is_loopback_host(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

struct Runtime::Impl {
  std::shared_ptr<const config::Config> config;
  // Real time, always: it also paces housekeeping that is about the real machine (syncing the
  // sample log to disk) when the engine runs on a simulated clock.
  core::SystemClock system_clock;
  std::unique_ptr<core::SimulatedClock> simulated_clock;  // --simulated-clock only
  std::unique_ptr<SimulatedWallClock> simulated_view;     // --simulated-clock only
  core::Clock* clock = &system_clock;  // what the engine, the API and the collector run on
  std::unique_ptr<SimulatedTime> simulated_time;  // --simulated-clock only
  store::sqlite::StorageHealth storage_health;  // before metrics and store: both refer to it
  core::MetricsRegistry metrics;
  std::unique_ptr<store::Store> store;
  Senders senders;
  std::unique_ptr<action::SystemExecutor> action_executor;
  std::unique_ptr<HttpSampleForwarder> forwarder;  // several replicas (a shared store) only
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<report::KpiMetrics> kpi_metrics;  // the tocsin_kpi_ gauges of /metrics
  std::unique_ptr<api::Router> router;
  std::atomic<api::Router*> ready_router{nullptr};  // what the HTTP threads see; set last
  std::unique_ptr<http::Server> http;

  std::unique_ptr<collect::Fetcher> fetcher;
  std::unique_ptr<collect::Collector> collector;
  // The engine driver and the collector each run on a loop of their own.
  std::unique_ptr<StepLoop> driver;
  std::unique_ptr<StepLoop> collecting;
  std::unique_ptr<StepLoop> log_syncing;  // fdatasyncs the sample log, off the driver's thread
  core::Timestamp last_state_save{};

  // The members go in reverse order, so the driver before the engine; but the engine's delivery
  // lanes wake the driver after each send, so they must end first. (TSan saw a lane's wake()
  // reach a driver being destroyed at shutdown.)
  ~Impl() {
    if (driver) driver->stop();
    if (engine) engine->stop_deliveries();
  }

  // How often the rule engine's learned state is written out (and once more at shutdown).
  static constexpr core::Duration kStateSaveEvery = std::chrono::minutes(1);
  // How often logged samples are made durable against a machine crash (a process crash loses
  // none of them in any case).
  static constexpr core::Duration kLogSyncEvery = std::chrono::seconds(1);

  // Paced by real time (the same as the engine's clock unless it is simulated): the saved state
  // is there for a crash of the real machine, and a demo advancing its simulated clock in small
  // steps would otherwise write and fsync it at every simulated minute.
  void save_state() {
    if (auto st = engine->save_state(); !st) {
      core::log::error("saving rule state failed", {{"error", st.error().to_string()}});
    }
    last_state_save = system_clock.now();
  }
  void save_state_if_due() {
    if (system_clock.now() - last_state_save >= kStateSaveEvery) save_state();
  }

  // One pass of the engine's modules; also saves the learned state when it is time.
  core::Result<std::optional<core::Timestamp>> drive() {
    auto next = TOCSIN_TRY(engine->run_due());
    save_state_if_due();
    const core::Timestamp save_at = last_state_save + kStateSaveEvery;
    return std::optional<core::Timestamp>(next && *next < save_at ? *next : save_at);
  }
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Runtime::~Runtime() { stop(); }

core::Result<std::unique_ptr<Runtime>> Runtime::start(const ServeOptions& options) {
  auto impl = std::make_unique<Impl>();
  auto loaded = TOCSIN_TRY(config::load_config(options.config_path));
  if (!options.listen_override.empty()) loaded.server.listen = options.listen_override;
  if (auto level = core::log::parse_level(loaded.server.log_level)) core::log::set_level(*level);
  impl->config = std::make_shared<const config::Config>(std::move(loaded));
  const auto& cfg = *impl->config;
  impl->store = TOCSIN_TRY(open_store(cfg.server, &impl->storage_health, /*sends_notifications=*/true));
  impl->metrics.add_collector([raw = impl.get()] {
    return fmt::format(
        "# HELP tocsin_data_dir_writable 1 while the data dir takes writes; 0 while writes are refused (full, "
        "read-only, I/O errors).\n# TYPE tocsin_data_dir_writable gauge\ntocsin_data_dir_writable {}\n"
        "# HELP tocsin_store_writes_refused_total Store writes the disk refused (full, read-only, I/O errors).\n"
        "# TYPE tocsin_store_writes_refused_total counter\ntocsin_store_writes_refused_total {}\n"
        "# HELP tocsin_store_wal_flushes_total fdatasyncs of the SQLite WAL that made writes durable (one can "
        "cover several writers' commits).\n# TYPE tocsin_store_wal_flushes_total counter\n"
        "tocsin_store_wal_flushes_total {}\n",
        raw->storage_health.problem().empty() ? 1 : 0, raw->storage_health.refused_writes(),
        raw->storage_health.wal_flushes());
  });
  if (options.simulated_clock_start) {
    impl->simulated_clock = std::make_unique<core::SimulatedClock>(*options.simulated_clock_start);
    impl->simulated_view = std::make_unique<SimulatedWallClock>(*impl->simulated_clock, impl->system_clock);
    impl->clock = impl->simulated_view.get();
  }

  // Bind first, so the external URL can name the real port when listen used port 0.
  Impl* raw = impl.get();
  http::ServerOptions http_options;
  http_options.listen = cfg.server.listen;
  http_options.max_body_bytes = static_cast<size_t>(cfg.limits.max_body_bytes);
  http_options.max_header_bytes = static_cast<size_t>(cfg.limits.max_header_bytes);
  http_options.read_timeout = cfg.limits.read_timeout;
  http_options.idle_timeout = cfg.limits.idle_timeout;
  http_options.max_connections = static_cast<size_t>(cfg.limits.max_connections);
  http_options.max_inflight_body_bytes = static_cast<size_t>(cfg.limits.max_inflight_body_bytes);
  if (cfg.server.tls) {
    http_options.tls = http::TlsOptions{cfg.server.tls->cert_file, cfg.server.tls->key_file,
                                        cfg.server.tls->min_version == "1.3"};
  }
  if (!cfg.server.store.empty()) {
    // Several replicas: an intake request may wait while its samples are forwarded to the replica
    // owning their series, which may at that moment be forwarding to this one. Such requests run
    // on threads of their own, so the io thread is always free for the forwarded requests (they
    // are ingested here and never wait on another replica). docs/high-availability.md.
    http_options.blocking = [](const http::Request& r) {
      return (r.path == "/api/v1/write" || r.path == "/api/v1/push" || r.path == "/api/v1/import/prometheus" ||
              r.path == "/api/v1/events") &&
             r.header("x-tocsin-forwarded-from").empty();
    };
    http_options.blocking_threads = kForwardingRequestThreads;
  }
  http_options.refused_connections = &impl->metrics.counter(
      "tocsin_http_connections_refused_total", "Connections answered 503 because limits.max_connections were open.");
  http_options.refused_bodies =
      &impl->metrics.counter("tocsin_limits_rejected_total", "Requests refused whole because they were over a limit.",
                             {{"limit", "max_inflight_body_bytes"}});
  impl->http = TOCSIN_TRY(http::Server::start(http_options, [raw](const http::Request& r) {
    api::Router* router = raw->ready_router.load(std::memory_order_acquire);
    if (!router) return http::Response::error(503, "starting");
    // While the data dir refuses writes, every request that may write is refused before it
    // changes anything (in memory either); reads go on. The driver's probe ends the episode.
    if (std::string problem = raw->storage_health.problem(); !problem.empty()) {
      if (r.path == "/readyz") return http::Response::error(503, "not ready: " + problem);
      if (r.method != "GET" && r.method != "HEAD") return http::Response::error(503, problem);
    }
    // The sample log refusing writes refuses ingestion (the engine answers 503 itself).
    if (r.path == "/readyz") {
      if (std::string problem = raw->engine->sample_log_problem(); !problem.empty()) {
        return http::Response::error(503, "not ready: " + problem);
      }
    }
    return router->handle(r);
  }));
  const std::string host = cfg.server.listen.substr(0, cfg.server.listen.rfind(':'));
  const std::string scheme = impl->http->tls() ? "https" : "http";
  const std::string external_url = cfg.server.external_url.empty()
                                       ? fmt::format("{}://{}:{}", scheme, host, impl->http->port())
                                       : cfg.server.external_url;

  const EnvLookup env = process_env();
  impl->senders = TOCSIN_TRY(make_senders(cfg, *impl->clock, env));
  const std::string ack_key = TOCSIN_TRY(load_ack_key(cfg.server, env));
  auth::TokenTable tokens = TOCSIN_TRY(load_token_table(cfg.auth, env));
  engine::EngineOptions engine_options;
  engine_options.config = impl->config;
  engine_options.store = impl->store.get();
  engine_options.clock = impl->clock;
  engine_options.metrics = &impl->metrics;
  engine_options.senders = impl->senders.by_kind();
  engine_options.ack_key = ack_key;
  engine_options.lease = lease_options(
      cfg.server, impl->http->port(), cfg.server.advertise_url.empty() ? external_url : cfg.server.advertise_url);
  // On a real clock sends run in the background on their lanes, so the driver never waits for a
  // receiver; a simulated clock's advance must find them done (SimulatedTime), so it waits.
  engine_options.delivery.background = !impl->simulated_clock;
  impl->action_executor = std::make_unique<action::SystemExecutor>();
  engine_options.action_executor = impl->action_executor.get();
  engine_options.external_url = external_url;
  engine_options.state_file = std::filesystem::path(cfg.server.data_dir) / "rules.state";
  engine_options.series_file = std::filesystem::path(cfg.server.data_dir) / "series.snapshot";
  engine_options.sample_log_dir = std::filesystem::path(cfg.server.data_dir) / "sample-log";
  // Several replicas on one store: each series is owned by one live replica, and samples of
  // another's series are forwarded to it (docs/high-availability.md, "Detection across replicas").
  if (!engine_options.lease.exclusive_store) {
    ForwarderOptions forwarding;
    forwarding.replica_id = engine_options.lease.replica_id;
    forwarding.intake_secret = TOCSIN_TRY(load_intake_secret(cfg.auth, env));
    if (auto ca = env("TOCSIN_CACERT")) forwarding.ca_file = *ca;
    impl->forwarder = std::make_unique<HttpSampleForwarder>(std::move(forwarding));
    engine_options.forwarder = impl->forwarder.get();
  }
  impl->engine = TOCSIN_TRY(engine::Engine::create(std::move(engine_options)));
  // KPIs over the last 30 days of the engine's clock, recomputed at most once a minute.
  impl->kpi_metrics = std::make_unique<report::KpiMetrics>(*impl->store, *impl->clock, impl->metrics,
                                                           report::KpiMetrics::Options{});
  // Order matters: the driver exists before anything can ingest (its wake hook), and the router
  // is published to the HTTP threads last, when everything behind it is ready.
  impl->last_state_save = impl->system_clock.now();
  // Samples replayed from the log are in no snapshot: save one on the first pass instead of a
  // minute from now. Otherwise a server that keeps dying within a minute of starting (a crash
  // loop) never cuts its sample log, and the log and every start's replay grow without end.
  if (impl->engine->replayed_samples() > 0) impl->last_state_save -= Impl::kStateSaveEvery;
  if (impl->simulated_clock) {
    impl->simulated_time = std::make_unique<SimulatedTime>(
        *impl->simulated_clock, [raw] { return raw->engine->run_due(); }, [raw] { raw->save_state_if_due(); });
    impl->driver = std::make_unique<StepLoop>("engine", *impl->clock, [raw] { return raw->simulated_time->run_now(); });
  } else {
    impl->driver = std::make_unique<StepLoop>("engine", *impl->clock, [raw] { return raw->drive(); });
  }
  impl->engine->set_on_wake([raw] { raw->driver->wake(); });
  impl->log_syncing = std::make_unique<StepLoop>(
      "sample-log", impl->system_clock, [raw]() -> core::Result<std::optional<core::Timestamp>> {
        raw->storage_health.probe();  // while writes are refused: do they work again?
        TOCSIN_RETURN_IF_ERROR(raw->engine->sync_sample_log());
        return std::optional<core::Timestamp>(raw->system_clock.now() + Impl::kLogSyncEvery);
      });
  if (!cfg.scrape.empty() || !cfg.probes.empty()) {
    impl->fetcher = collect::make_network_fetcher();
    impl->collector = std::make_unique<collect::Collector>(
        impl->config, *impl->clock, *impl->fetcher, [raw, failing = false](std::vector<core::Sample> samples) mutable {
          // Logged once per streak (a full disk refuses every scrape until it has room again).
          auto r = raw->engine->ingest(samples);
          if (!r && !failing) core::log::error("collected samples not ingested", {{"error", r.error().to_string()}});
          if (r && failing) core::log::info("collected samples are ingested again", {});
          failing = !r;
        });
    if (impl->forwarder) {
      // A target is scraped (a probe run) only by the replica owning its key in the view in force.
      impl->collector->set_owner_check([raw](uint64_t key) { return raw->engine->ownership()->is_local(key); });
    }
    impl->collecting = std::make_unique<StepLoop>("collector", *impl->clock, [raw]() -> core::Result<std::optional<core::Timestamp>> {
      return raw->collector->run_due(raw->clock->now());
    });
  }
  impl->router = std::make_unique<api::Router>(
      *impl->engine, impl->metrics, *impl->clock,
      // One real query: a PostgreSQL store that lost its server notices only when it talks to it.
      [raw] {
        return raw->store
            ->read([](store::Tx& tx) -> core::Status {
              TOCSIN_TRY(tx.next_notification_due());
              return core::ok();
            })
            .has_value();
      },
      impl->simulated_time.get(), ack_key);
  impl->router->set_auth(std::move(tokens), impl->store.get());
  impl->ready_router.store(impl->router.get(), std::memory_order_release);
  core::log::info("tocsin serving", {{"listen", fmt::format("{}:{}", host, impl->http->port())},
                                     {"scheme", scheme},
                                     {"data_dir", cfg.server.data_dir},
                                     {"store", describe_store(cfg.server)},
                                     {"replica", impl->engine->cluster_id()},
                                     {"rules", std::to_string(cfg.rules.size())},
                                     {"plans", std::to_string(cfg.plans.size())}});
  if (!cfg.auth.enabled() && !is_loopback_host(host)) {
    core::log::warn("auth is off (no auth.tokens) and the server listens beyond loopback: anyone who can reach it "
                    "may read and act; configure auth.tokens (docs/security.md)",
                    {{"listen", cfg.server.listen}});
  }
  if (impl->simulated_clock) {
    core::log::warn("THE CLOCK IS SIMULATED: time stands still until POST /api/v1/clock/advance moves it; "
                    "for tests and drills only, never for real paging",
                    {{"now", core::format_rfc3339(impl->simulated_clock->now())}});
  }
  return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

uint16_t Runtime::port() const { return impl_->http->port(); }

std::string Runtime::base_url() const {
  const auto& listen = impl_->config->server.listen;
  return fmt::format("{}://{}:{}", impl_->http->tls() ? "https" : "http", listen.substr(0, listen.rfind(':')), port());
}

core::Status Runtime::reload_tls() { return impl_->http->reload_tls(); }

core::Status Runtime::ingest(const std::vector<core::Sample>& samples) {
  TOCSIN_TRY(impl_->engine->ingest(samples));
  return {};
}

engine::Engine& Runtime::engine() { return *impl_->engine; }

store::Store& Runtime::store() { return *impl_->store; }

core::Timestamp Runtime::now() const { return impl_->clock->now(); }

core::Result<std::optional<core::Timestamp>> Runtime::advance_to(core::Timestamp to) {
  if (!impl_->simulated_time) {
    return std::unexpected(core::Error::failed_precondition("the clock is not simulated"));
  }
  return impl_->simulated_time->advance(to);
}

void Runtime::stop() {
  if (!impl_) return;
  // Stop taking requests first (in-flight ones finish), then collection, then the engine's
  // driver; save the learned state last, then the store closes.
  if (impl_->http) impl_->http->stop(std::chrono::seconds(5));
  if (impl_->collecting) impl_->collecting->stop();
  if (impl_->driver) impl_->driver->stop();
  if (impl_->log_syncing) impl_->log_syncing->stop();
  // A standby takes the engine's work over at once instead of after the lease's expiry.
  if (auto released = impl_->engine ? impl_->engine->release_lease() : core::ok(); !released) {
    core::log::warn("engine lease not released; a standby takes over when it expires",
                    {{"error", released.error().to_string()}});
  }
  impl_->save_state();
  impl_.reset();
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_shutdown_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

namespace {

// What `tocsin serve` waits for: SIGTERM and SIGINT stop it, SIGHUP re-reads the TLS files.
sigset_t serve_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

core::Status serve(const ServeOptions& options) {
  // Blocked before any thread starts, so that all inherit it and sigwait gets them.
  const sigset_t signals = serve_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A write past the file size limit (RLIMIT_FSIZE) would otherwise kill the process with
  // SIGXFSZ; ignored, it fails with EFBIG and is refused like a write to a full disk.
  signal(SIGXFSZ, SIG_IGN);
  auto runtime = TOCSIN_TRY(Runtime::start(options));
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    // A failed reload keeps the certificate in use: a renewal half-copied must not stop HTTPS.
    if (auto reloaded = runtime->reload_tls(); reloaded) {
      core::log::info("tls certificate reloaded for new connections");
    } else if (reloaded.error().code() == core::ErrorCode::kFailedPrecondition) {
      core::log::info("SIGHUP ignored: there is no server.tls to reload");
    } else {
      core::log::error("tls certificate not reloaded; still serving the previous one",
                       {{"error", reloaded.error().to_string()}});
    }
  }
  core::log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  runtime->stop();
  core::log::info("stopped");
  return {};
}

}  // namespace tocsin::server
