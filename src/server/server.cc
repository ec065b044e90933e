#include "server/server.h"

#include <fmt/format.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/router.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "http/http.h"
#include "ingest/push.h"
#include "notify/webhook/http_sender.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::server {

struct Runtime::Impl {
  std::shared_ptr<const config::Config> config;
  core::SystemClock clock;
  core::MetricsRegistry metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<notify::HttpSender> http_sender;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<api::Router> router;
  std::unique_ptr<http::Server> http;

  // The driver: runs the engine's modules whenever woken, and arms a clock timer for the next
  // time they have work.
  std::mutex mu;
  std::condition_variable cv;
  bool wake = true;
  bool stopping = false;
  std::optional<core::TimerId> timer;
  std::thread driver;

  void wake_driver() {
    {
      std::lock_guard lock(mu);
      wake = true;
    }
    cv.notify_all();
  }

  void drive() {
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait(lock, [&] { return wake || stopping; });
      if (stopping) break;
      wake = false;
      lock.unlock();
      core::Result<std::optional<core::Timestamp>> next = std::unexpected(core::Error::internal("not run"));
      try {
        next = engine->run_due();
      } catch (const std::exception& e) {  // a bug must not stop paging for good
        next = std::unexpected(core::Error::internal(e.what()));
      }
      if (!next) {
        core::log::error("engine run failed; retrying in 1s", {{"error", next.error().to_string()}});
        next = std::optional<core::Timestamp>(clock.now() + std::chrono::seconds(1));
      }
      lock.lock();
      if (timer) clock.cancel(*timer);
      timer.reset();
      if (*next) timer = clock.schedule_at(**next, [this] { wake_driver(); });
    }
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
  if (!cfg.server.store.empty()) {
    return std::unexpected(core::Error::invalid_argument("the PostgreSQL store is not implemented yet; remove server.store "
                                                         "to use the embedded SQLite store")
                               .field("server.store"));
  }
  impl->store = TOCSIN_TRY(store::sqlite::open_sqlite_store(std::filesystem::path(cfg.server.data_dir) / "tocsin.db"));

  // Bind first, so the external URL can name the real port when listen used port 0.
  Impl* raw = impl.get();
  http::ServerOptions http_options;
  http_options.listen = cfg.server.listen;
  impl->http = TOCSIN_TRY(http::Server::start(http_options, [raw](const http::Request& r) {
    if (!raw->router) return http::Response::error(503, "starting");
    return raw->router->handle(r);
  }));
  const std::string host = cfg.server.listen.substr(0, cfg.server.listen.rfind(':'));
  const std::string external_url = cfg.server.external_url.empty()
                                       ? fmt::format("http://{}:{}", host, impl->http->port())
                                       : cfg.server.external_url;

  impl->http_sender = std::make_unique<notify::HttpSender>(std::chrono::seconds(10));
  engine::EngineOptions engine_options;
  engine_options.config = impl->config;
  engine_options.store = impl->store.get();
  engine_options.clock = &impl->clock;
  engine_options.metrics = &impl->metrics;
  engine_options.senders = {{"webhook", impl->http_sender.get()}, {"slack", impl->http_sender.get()}};
  engine_options.external_url = external_url;
  impl->engine = TOCSIN_TRY(engine::Engine::create(std::move(engine_options)));
  impl->engine->set_on_wake([raw] { raw->wake_driver(); });
  impl->router = std::make_unique<api::Router>(*impl->engine, impl->metrics, impl->clock, [raw] {
    return raw->store->read([](store::Tx&) -> core::Status { return {}; }).has_value();
  });
  impl->driver = std::thread([raw] { raw->drive(); });
  core::log::info("tocsin serving", {{"listen", fmt::format("{}:{}", host, impl->http->port())},
                                     {"data_dir", cfg.server.data_dir},
                                     {"rules", std::to_string(cfg.rules.size())},
                                     {"plans", std::to_string(cfg.plans.size())}});
  return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

uint16_t Runtime::port() const { return impl_->http->port(); }

std::string Runtime::base_url() const {
  const auto& listen = impl_->config->server.listen;
  return fmt::format("http://{}:{}", listen.substr(0, listen.rfind(':')), port());
}

core::Status Runtime::push(std::string_view json_body) {
  auto samples = TOCSIN_TRY(ingest::parse_push_json(json_body, impl_->clock.now()));
  TOCSIN_TRY(impl_->engine->ingest(samples));
  return {};
}

void Runtime::stop() {
  if (!impl_) return;
  // Stop taking requests first (in-flight ones finish), then the driver, then the store closes.
  if (impl_->http) impl_->http->stop(std::chrono::seconds(5));
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    if (impl_->timer) impl_->clock.cancel(*impl_->timer);
  }
  impl_->cv.notify_all();
  if (impl_->driver.joinable()) impl_->driver.join();
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

core::Status serve(const ServeOptions& options) {
  block_shutdown_signals();
  auto runtime = TOCSIN_TRY(Runtime::start(options));
  const int sig = wait_for_shutdown_signal();
  core::log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  runtime->stop();
  core::log::info("stopped");
  return {};
}

}  // namespace tocsin::server
