// `tocsin demo`: the starter config served on a simulated clock that runs `speed` times faster
// than the wall clock, and the three shipped drill scenarios (system crash, data breach, network
// attack) played against it one after another, round after round: background traffic and faults
// from each scenario's signal generator, the real rules, plans, escalation and webhook senders of
// the server, simulated responders acknowledging and completing steps through the engine, each
// drill scored and recorded in the drill history. A local pager answers the pages and prints them;
// a running commentary says what happens. The API serves everything meanwhile.
//
// The drills are registered as live drills of the server (Engine::start_live_drill), so their
// incidents and pages are [DRILL] ones that page only the participants, and finishing one stores
// its scorecard (GET /api/v1/drills). The loop that plays a scenario is drill::DrillPlayer, the
// simulated runner's; here its Stage is the server: moving the clock is the server's simulated
// advance (the engine runs at every instant something falls due), and the pages the responders
// get are the notifications the real senders delivered.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "config/starter.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/log.h"
#include "drill/history.h"
#include "drill/player.h"
#include "drill/scenario.h"
#include "drill/scorecard.h"
#include "drill/starter_scenarios.h"
#include "engine/engine.h"
#include "http/http.h"
#include "report/postmortem.h"
#include "server/server.h"
#include "store/store.h"

namespace tocsin::cli {
namespace {

namespace fs = std::filesystem;
using core::Duration;
using core::Timestamp;

// A round of the three drills starts two weeks after the previous one: the starter rotation
// (weekly, alice and bob) is then where the scenarios were written for (alice on call).
constexpr Duration kRoundEvery = std::chrono::hours(24 * 14);
// How often the demo moves the simulated clock on (wall time).
constexpr auto kTick = std::chrono::milliseconds(100);

std::mutex print_mu;

// What the pager received and the commentary has not printed yet ("alice: [DRILL] …").
std::mutex pages_mu;
std::vector<std::string> received_pages;

void page_received(std::string text) {
  std::lock_guard lock(pages_mu);
  received_pages.push_back(std::move(text));
}

std::vector<std::string> take_pages() {
  std::lock_guard lock(pages_mu);
  return std::exchange(received_pages, {});
}

template <class... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  std::lock_guard lock(print_mu);
  fmt::print(format, std::forward<Args>(args)...);
  std::fflush(stdout);
}

// "1h05m30s" without the zero parts ("1m40s", "2h").
std::string human(Duration d) {
  if (d < Duration::zero()) return "-" + human(-d);
  return core::format_duration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

// "+0:31:00", the drill's clock.
std::string offset(Duration d) {
  const int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return fmt::format("+{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60);
}

// Writes the starter config (and the drill scenarios) into a new demo directory, with the pages
// going to the demo's pager and the server's own address where the starter config says 8470.
core::Status prepare_dir(const fs::path& dir, const std::string& listen, const std::string& pager) {
  const fs::path config = dir / "tocsin.yaml";
  if (!fs::exists(config)) {
    TOCSIN_RETURN_IF_ERROR(config::write_starter_config(dir));
    std::stringstream text;
    text << std::ifstream(config).rdbuf();
    std::string yaml = text.str();
    auto replace_all = [&yaml](std::string_view from, std::string_view to) {
      for (size_t at = yaml.find(from); at != std::string::npos; at = yaml.find(from, at + to.size())) {
        yaml.replace(at, from.size(), to);
      }
    };
    replace_all("127.0.0.1:9000", pager);
    if (!listen.ends_with(":0")) replace_all("127.0.0.1:8470", listen);
    std::ofstream out(config, std::ios::binary | std::ios::trunc);
    out << yaml;
    if (!out) return std::unexpected(core::Error::failed_precondition(fmt::format("cannot write {}", config.string())));
  }
  if (drill::check_starter_scenarios_absent(dir)) TOCSIN_RETURN_IF_ERROR(drill::write_starter_scenarios(dir));
  std::stringstream text;
  text << std::ifstream(config).rdbuf();
  if (text.str().find(fmt::format("http://{}/", pager)) == std::string::npos) {
    fmt::print(stderr,
               "tocsin demo: warning: {} (from an earlier run) pages no webhook at {}, where the pager listens: "
               "pages will not reach it. Remove {} to start afresh with --pager {}.\n",
               config.string(), pager, dir.string(), pager);
  }
  return {};
}

// The shipped scenarios, from the demo directory (edited ones included) or as shipped.
core::Result<std::vector<drill::Scenario>> load_scenarios(const fs::path& dir, const config::Config& config) {
  std::vector<drill::Scenario> out;
  for (const auto& [path, text] : drill::starter_scenarios()) {
    const fs::path file = dir / path;
    auto s = fs::exists(file) ? TOCSIN_TRY(drill::load_scenario(file))
                              : TOCSIN_TRY(drill::parse_scenario(text, std::string(path)));
    TOCSIN_TRY(drill::validate_scenario(s, config));
    out.push_back(std::move(s));
  }
  return out;
}

// The player's stage: the running server on its simulated clock. The pages are the delivered
// notifications of the drill's incidents, each handed over once.
class ServerStage final : public drill::Stage {
 public:
  ServerStage(server::Runtime& runtime, std::string drill_id, Timestamp since)
      : runtime_(runtime), drill_id_(std::move(drill_id)), since_(since) {}
  Timestamp now() const override { return runtime_.now(); }
  core::Status move_to(Timestamp t) override {
    if (t > runtime_.now()) TOCSIN_TRY(runtime_.advance_to(t));
    return {};
  }
  core::Result<Settled> settle() override {
    Settled out;
    out.next = TOCSIN_TRY(runtime_.advance_to(runtime_.now()));
    store::IncidentFilter filter;
    filter.since = since_;
    filter.limit = 10'000;
    auto incidents = TOCSIN_TRY(runtime_.engine().list_incidents(filter));
    TOCSIN_RETURN_IF_ERROR(runtime_.store().read([&](store::Tx& tx) -> core::Status {
      for (const auto& inc : incidents) {
        if (inc.drill != drill_id_) continue;
        for (auto& n : TOCSIN_TRY(tx.list_notifications(inc.id))) {
          if (n.status == store::NotificationStatus::kSent && handed_.insert(n.id).second) {
            out.pages.push_back(std::move(n));
          }
        }
      }
      return {};
    }));
    std::sort(out.pages.begin(), out.pages.end(),
              [](const store::Notification& a, const store::Notification& b) { return a.id < b.id; });
    return out;
  }

 private:
  server::Runtime& runtime_;
  std::string drill_id_;
  Timestamp since_;
  std::set<int64_t> handed_;
};

// The running commentary of one drill: faults as the clock passes them, the drill's alerts as
// they fire, and every timeline event of its incidents, as the store has them.
class Commentary {
 public:
  Commentary(server::Runtime& runtime, const drill::Scenario& scenario, std::string drill_id)
      : runtime_(runtime), scenario_(scenario), drill_id_(std::move(drill_id)), faults_(drill::fault_timeline(scenario)) {}

  struct State {
    bool waiting = false;   // an incident of the drill waits for someone to acknowledge it
    bool all_over = false;  // the drill opened incidents, and they are all resolved (or closed)
  };
  // Prints what happened up to now.
  core::Result<State> update() {
    const Timestamp now = runtime_.now();
    for (size_t i = 0; i < faults_.size(); ++i) {
      const auto& f = faults_[i];
      if (!started_.contains(i) && f.from <= now) {
        started_.insert(i);
        line(f.from, fmt::format("⚡ fault injected: {} on {} for {}", drill::to_string(f.kind), f.target,
                                 human(f.to - f.from)));
      }
      if (!ended_.contains(i) && f.to <= now && f.to > f.from) {
        ended_.insert(i);
        line(f.to, fmt::format("   fault over: {} on {}", drill::to_string(f.kind), f.target));
      }
    }
    std::vector<store::AlertRecord> alerts;
    TOCSIN_RETURN_IF_ERROR(runtime_.store().read([&](store::Tx& tx) -> core::Status {
      alerts = TOCSIN_TRY(tx.list_alerts(std::nullopt));
      return {};
    }));
    std::sort(alerts.begin(), alerts.end(), [](const auto& a, const auto& b) { return a.active_at < b.active_at; });
    for (const auto& a : alerts) {
      if (a.labels.get_or("drill", "") != drill_id_ || !a.fired_at) continue;
      if (!fired_.emplace(a.fingerprint, *a.fired_at).second) continue;
      const auto summary = a.annotations.find("summary");
      line(*a.fired_at, fmt::format("🔔 alert {} firing{}", a.rule.empty() ? a.labels.get_or("alertname", "?") : a.rule,
                                    summary != a.annotations.end() ? ": " + summary->second : ""));
    }
    store::IncidentFilter filter;
    filter.since = scenario_.start;
    filter.with_details = true;
    filter.limit = 10'000;
    auto incidents = TOCSIN_TRY(runtime_.engine().list_incidents(filter));
    std::sort(incidents.begin(), incidents.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    State state;
    bool any = false, open = false;
    for (const auto& inc : incidents) {
      if (inc.drill != drill_id_) continue;
      any = true;
      state.waiting = state.waiting || inc.status == store::IncidentStatus::kTriggered;
      open = open || (inc.status != store::IncidentStatus::kResolved && inc.status != store::IncidentStatus::kClosed);
      int64_t& seen = seen_events_[inc.id];
      for (const auto& e : inc.timeline) {
        if (e.id <= seen) continue;
        seen = e.id;
        if (auto text = describe(inc, e)) line(e.at, *text);
      }
    }
    flush();
    state.all_over = any && !open;
    return state;
  }

  std::set<int64_t> incidents_seen() const {
    std::set<int64_t> out;
    for (const auto& [id, _] : seen_events_) out.insert(id);
    return out;
  }

 private:
  std::optional<std::string> describe(const store::Incident& inc, const store::TimelineEvent& e) const {
    const std::string after = human(e.at - inc.opened_at);
    if (e.kind == "opened") return fmt::format("🚨 incident #{} opened: {}", inc.id, inc.title);
    if (e.kind == "acknowledged") return fmt::format("✋ #{} acknowledged by {} after {}", inc.id, e.actor, after);
    if (e.kind == "mitigated") return fmt::format("🩹 #{} mitigated by {} after {}", inc.id, e.actor, after);
    if (e.kind == "resolved") return fmt::format("✅ #{} resolved by {} after {}", inc.id, e.actor, after);
    if (e.kind == "task_done") return fmt::format("☑  #{} step {} — done by {}", inc.id, e.detail, e.actor);
    if (e.kind == "task_skipped") return fmt::format("   #{} step {} — skipped by {}", inc.id, e.detail, e.actor);
    if (e.kind == "alert_resolved") {
      return fmt::format("   #{} alert {} resolved", inc.id, e.detail.substr(0, e.detail.find(' ')));
    }
    // Left out: what another line already says (the pager prints the delivered pages).
    if (e.kind == "alert_added" || e.kind == "role_assigned" || e.kind == "clock_started" || e.kind == "notified") {
      return std::nullopt;
    }
    return fmt::format("   #{} {}: {}", inc.id, e.kind, e.detail);
  }

  void line(Timestamp at, std::string text) { pending_.emplace_back(at, std::move(text)); }
  // Prints the lines gathered by one update in time order, then the pages the pager received.
  void flush() {
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& [at, text] : pending_) out += fmt::format("  {:>9}  {}\n", offset(at - scenario_.start), text);
    pending_.clear();
    for (const auto& page : take_pages()) out += fmt::format("             📟 {}\n", page);
    if (!out.empty()) say("{}", out);
  }

  server::Runtime& runtime_;
  const drill::Scenario& scenario_;
  std::string drill_id_;
  std::vector<drill::FaultWindow> faults_;
  std::set<size_t> started_, ended_;
  std::set<std::pair<uint64_t, Timestamp>> fired_;
  std::map<int64_t, int64_t> seen_events_;  // incident -> last timeline event printed
  std::vector<std::pair<Timestamp, std::string>> pending_;
};

// Plays one scenario on the server, paced against the wall clock; scores and records it.
class DemoRun {
 public:
  DemoRun(server::Runtime& runtime, double speed, const std::atomic<bool>& stopping)
      : runtime_(runtime), speed_(speed), stopping_(stopping) {}

  // Returns false when stopped before the end.
  core::Result<bool> play(drill::Scenario s) {
    engine::Engine& engine = runtime_.engine();
    const config::Config& config = engine.config();
    s.start = runtime_.now();
    std::vector<std::string> participants = s.participants;
    if (participants.empty()) {
      for (const auto& p : config.people) participants.push_back(p.id);
    }
    const store::LiveDrill registered = TOCSIN_TRY(engine.start_live_drill(s.name, s.plan, participants, "demo"));
    const std::string drill_id = std::to_string(registered.id);
    say("\n▶ drill {} (live drill {}, plan {}, seed {}) — {} of simulated time\n  {}\n", s.name, drill_id, s.plan,
        s.seed, human(s.duration), s.description);

    ServerStage stage(runtime_, drill_id, s.start);
    drill::DrillPlayer player(s, config, engine, stage, drill_id);
    Commentary commentary(runtime_, s, drill_id);
    Timestamp faults_over = s.start;
    for (const auto& f : drill::fault_timeline(s)) faults_over = std::max(faults_over, f.to);
    core::SystemClock wall;
    const auto wall_start = wall.mono_now();
    bool fast_forward = false;
    while (!player.finished()) {
      if (stopping_.load()) {
        // Stopped mid-drill: the drill is over, unscored (its incidents stop escalating).
        TOCSIN_TRY(engine.finish_live_drill(registered.id, "demo", std::nullopt));
        say("  ■ drill {} stopped at {}: finished unscored\n", s.name, offset(runtime_.now() - s.start));
        TOCSIN_RETURN_IF_ERROR(resolve_leftovers(commentary, "the drill was stopped"));
        return false;
      }
      std::this_thread::sleep_for(kTick);
      const double elapsed = std::chrono::duration<double>(wall.mono_now() - wall_start).count();
      Timestamp target = s.start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(elapsed * speed_));
      if (fast_forward) target = player.end();
      TOCSIN_RETURN_IF_ERROR(player.play_until(target));
      const Commentary::State state = TOCSIN_TRY(commentary.update());
      // Nothing left to watch once the faults are over and the drill's incidents are resolved, or
      // none waits for an acknowledgement and nobody has anything planned before the end: play
      // the rest of the drill at once.
      const auto next_action = player.next_responder_action();
      const bool idle = !state.waiting && (!next_action || *next_action >= player.end()) &&
                        !commentary.incidents_seen().empty();
      if (!fast_forward && !player.finished() && runtime_.now() > faults_over && (state.all_over || idle)) {
        fast_forward = true;
        say("  {:>9}  ⏩ nothing left to watch: fast-forwarding to the drill's end ({})\n",
            offset(runtime_.now() - s.start), offset(player.end() - s.start));
      }
    }
    TOCSIN_TRY(commentary.update());

    // Score it from what the store recorded, and store the run with the live drill.
    const drill::DrillRecord record =
        TOCSIN_TRY(drill::drill_record_from_store(engine, runtime_.store(), s, drill_id, player.end()));
    const drill::Scorecard card = drill::compute_scorecard(s, config, record);
    store::DrillRun run = drill::to_drill_run(card, s, config, "live");
    const store::LiveDrill finished = TOCSIN_TRY(engine.finish_live_drill(registered.id, "demo", std::move(run)));
    print_score(card, finished.run);

    // Leave nothing of the drill open on the board (after the scoring: it changes nothing there).
    TOCSIN_RETURN_IF_ERROR(resolve_leftovers(commentary, "the drill is over"));
    return true;
  }

 private:
  // Resolves the drill's incidents still open, so their plan clocks stop paging.
  core::Status resolve_leftovers(const Commentary& commentary, std::string_view why) {
    engine::Engine& engine = runtime_.engine();
    for (int64_t id : commentary.incidents_seen()) {
      auto inc = TOCSIN_TRY(engine.get_incident(id));
      if (inc.status != store::IncidentStatus::kResolved && inc.status != store::IncidentStatus::kClosed) {
        TOCSIN_TRY(engine.resolve(id, "demo"));
        say("             #{} was still {}: resolved by the demo as {}\n", id, store::to_string(inc.status), why);
      }
    }
    return {};
  }

  void print_score(const drill::Scorecard& card, std::optional<int64_t> run_id) {
    auto time = [](const std::optional<Duration>& d) { return d ? human(*d) : std::string("—"); };
    std::string text = fmt::format(
        "  🏁 {} scored {}/100: detect {}, acknowledge {}, mitigate {}, resolve {}; {} of {} expectations met\n",
        card.scenario, card.score, time(card.time_to_detect), time(card.time_to_acknowledge),
        time(card.time_to_mitigate), time(card.time_to_resolve), card.expectations_met, card.expectations.size());
    int shown = 0;
    for (const auto& f : card.findings) {
      if (shown++ == 3) break;
      text += fmt::format("     finding: {}\n", f.text);
    }
    for (const auto& r : card.recommendations) {
      if (shown++ >= 5) break;
      text += fmt::format("     training: {} — {}\n", r.who, r.text);
    }
    if (run_id) text += fmt::format("     recorded as drill run #{} (GET /api/v1/drills/{})\n", *run_id, *run_id);
    if (card.incident) text += postmortem_line(*card.incident);
    say("{}", text);
  }

  // The postmortem draft of the drill's incident, in one line, and where to read it whole.
  std::string postmortem_line(int64_t id) {
    std::optional<report::PostmortemInput> input;
    auto read = runtime_.engine().read_store([&](store::Tx& tx) -> core::Status {
      input = TOCSIN_TRY(report::read_postmortem_input(tx, id));
      return {};
    });
    if (!read || !input) return "";
    const report::Postmortem pm =
        report::postmortem_draft(*input, runtime_.engine().config().plan(input->incident.plan),
                                 runtime_.engine().config().rules);
    int done = 0, late = 0;
    for (const auto& st : pm.steps) {
      done += st.outcome == report::StepOutcome::kOnTime || st.outcome == report::StepOutcome::kLate;
      late += st.outcome == report::StepOutcome::kLate;
    }
    return fmt::format("     📝 postmortem draft: impact {}, {} page{}, {} of {} steps done ({} late) — "
                       "GET /api/v1/incidents/{}/postmortem\n",
                       pm.impact_duration ? report::human_duration(*pm.impact_duration) : std::string("ongoing"),
                       pm.pages.size(), pm.pages.size() == 1 ? "" : "s", done, pm.steps.size(), late, id);
  }

  server::Runtime& runtime_;
  double speed_;
  const std::atomic<bool>& stopping_;
};

// The newest instant the store knows of from earlier demo runs (incidents and drill runs), so a
// restarted demo continues after it instead of replaying the same simulated hours.
core::Result<std::optional<Timestamp>> newest_known(server::Runtime& runtime) {
  std::optional<Timestamp> newest;
  auto see = [&](Timestamp t) {
    if (!newest || t > *newest) newest = t;
  };
  store::IncidentFilter filter;
  filter.limit = 100'000;
  for (const auto& inc : TOCSIN_TRY(runtime.engine().list_incidents(filter))) see(inc.opened_at);
  store::DrillRunFilter runs;
  runs.limit = 100'000;
  for (const auto& r : TOCSIN_TRY(runtime.engine().list_drill_runs(runs))) see(r.finished_at);
  return newest;
}

// The demo's own loop: rounds of the scenarios until stopped.
core::Status play_rounds(server::Runtime& runtime, const std::vector<drill::Scenario>& scenarios, double speed,
                         const std::atomic<bool>& stopping) {
  const Timestamp base = scenarios.front().start;
  DemoRun demo(runtime, speed, stopping);
  for (int64_t round = 0;; ++round) {
    // Each round at the next two-week mark, after anything an earlier demo run left.
    const Timestamp now = runtime.now();
    const int64_t k = now <= base ? 0 : (now - base + kRoundEvery - Duration(1)) / kRoundEvery;
    const Timestamp round_start = base + k * kRoundEvery;
    if (round_start > now) {
      say("\n⏭  the clock skips ahead to {} for the next round (the on-call rotation is back where the scenarios "
          "start)\n",
          core::format_rfc3339(round_start));
      TOCSIN_TRY(runtime.advance_to(round_start));
    }
    say("\n══ round {} — simulated time {} ══\n", round + 1, core::format_rfc3339(runtime.now()));
    for (const auto& scenario : scenarios) {
      drill::Scenario s = scenario;
      s.seed = scenario.seed + static_cast<uint64_t>(round);  // other draws every round
      if (!TOCSIN_TRY(demo.play(std::move(s)))) return {};
    }
  }
}

// The pages' one-line summary: the tocsin JSON's summary, the Alertmanager webhook's, or the start
// of the body.
std::string page_summary(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    if (json.contains("summary") && json["summary"].is_string()) return json["summary"].get<std::string>();
    if (json.contains("commonAnnotations") && json["commonAnnotations"].contains("summary")) {
      return json["commonAnnotations"]["summary"].get<std::string>();
    }
  }
  return body.substr(0, 200);
}

}  // namespace

int run_demo(const DemoOptions& options) {
  if (!(options.speed > 0) || options.speed > 100'000) {
    fmt::print(stderr, "tocsin demo: --speed must be above 0 and at most 100000 (got {})\n", options.speed);
    return 2;
  }
  const fs::path dir = options.dir;
  if (auto st = prepare_dir(dir, options.listen, options.pager); !st) {
    fmt::print(stderr, "tocsin demo: {}\n", st.error().to_string());
    return 1;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // show progress line by line even when piped
  server::block_shutdown_signals();          // before any thread starts: they all inherit it

  // The demo config pages people at the pager address; answer there and print each page.
  auto pager = http::Server::start({.listen = options.pager}, [](const http::Request& r) {
    const std::string who = r.path.size() > 1 ? r.path.substr(1) : r.path;
    page_received(fmt::format("page to {}: {}", who, page_summary(r.body)));
    return http::Response::json(200, "{}");
  });
  if (!pager) {
    fmt::print(stderr, "tocsin demo: the pager could not listen on {} ({}); pages will fail and be retried\n",
               options.pager, pager.error().message());
  }

  // The clock starts where the first scenario does; the server serves the API on it at once.
  const fs::path config_path = dir / "tocsin.yaml";
  auto first = drill::load_scenario(dir / drill::starter_scenarios().front().first);
  if (!first) {
    fmt::print(stderr, "tocsin demo: {}\n", first.error().to_string());
    return 1;
  }
  core::log::set_level(core::log::Level::kWarn);
  auto runtime = server::Runtime::start({config_path, options.listen, first->start});
  if (!runtime) {
    fmt::print(stderr, "tocsin demo: {}\n", runtime.error().to_string());
    return 1;
  }
  core::log::set_level(core::log::Level::kWarn);  // the config's info level would bury the commentary
  server::Runtime& rt = **runtime;
  auto scenarios = load_scenarios(dir, rt.engine().config());
  if (!scenarios) {
    fmt::print(stderr, "tocsin demo: {}\n", scenarios.error().to_string());
    return 1;
  }
  // Live drills an earlier demo run left running when it was stopped end now, unscored.
  if (auto running = rt.engine().live_drills(true); running) {
    for (const auto& d : *running) {
      if (d.started_by != "demo") continue;
      if (auto st = rt.engine().finish_live_drill(d.id, "demo", std::nullopt); !st) {
        fmt::print(stderr, "tocsin demo: live drill {} left running: {}\n", d.id, st.error().to_string());
      }
    }
  }
  if (auto newest = newest_known(rt); newest && *newest && **newest > rt.now()) {
    if (auto st = rt.advance_to(**newest); !st) {
      fmt::print(stderr, "tocsin demo: {}\n", st.error().to_string());
      return 1;
    }
  }
  const std::string url = rt.base_url();
  say("tocsin demo: the starter config in {} served at {}, on a simulated clock running {}× wall time\n"
      "(one simulated hour every {:.3g} s). The shipped drills — {}, {}, {} — play one after another\n"
      "with background traffic; simulated responders acknowledge the pages and work the plans through the\n"
      "engine; each drill is scored and recorded. Pages go to the pager on {}.\n"
      "Web UI:  {}/\n"
      "KPIs:    {}/#/kpi?scope=drills&period=day   (the demo's incidents are drills)\n"
      "Watch:   tocsin incident list --server {}\n"
      "         curl -s {}/api/v1/incidents      curl -s {}/api/v1/drills\n"
      "Ctrl-C stops the demo.\n",
      dir.string(), url, options.speed, 3600.0 / options.speed, (*scenarios)[0].name, (*scenarios)[1].name,
      (*scenarios)[2].name, options.pager, url, url, url, url, url);

  std::atomic<bool> stopping{false};
  std::atomic<bool> failed{false};
  std::thread player([&] {
    if (auto st = play_rounds(rt, *scenarios, options.speed, stopping); !st) {
      fmt::print(stderr, "tocsin demo: the drills stopped: {}\n", st.error().to_string());
      failed = true;
      kill(getpid(), SIGTERM);  // wake the main thread
    }
  });
  server::wait_for_shutdown_signal();
  stopping = true;
  player.join();
  say("\nstopping the demo\n");
  rt.stop();
  if (pager) (*pager)->stop(std::chrono::seconds(1));
  return failed ? 1 : 0;
}

}  // namespace tocsin::cli
