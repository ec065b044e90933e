#include "cli/drill_live_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/api_client.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/time.h"
#include "drill/faults.h"
#include "drill/scenario.h"
#include "ingest/events.h"

namespace tocsin::cli {
namespace {

using nlohmann::json;

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

// Installs the stop handlers for the drill and puts the previous ones back.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// A string member, or `fallback` when it is absent or not a string (null, say).
template <class Json>
std::string str(const Json& j, const char* key, std::string fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->template get<std::string>() : fallback;
}

// An incident id from the server's answer, for ordering; one that does not read sorts first.
int64_t id_of(const json& incident) {
  const std::string id = str(incident, "id", "0");
  int64_t value = 0;
  std::from_chars(id.data(), id.data() + id.size(), value);
  return value;
}

int fail(const std::string& what) {
  fmt::print(stderr, "{}\n", what);
  return 1;
}

// The server's error message for a refused request: {"error": …} when it sent one.
std::string server_error(const ApiResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    std::string msg = body["error"].get<std::string>();
    // A scenario error already names its file and line; others name the request's field.
    if (body.contains("field") && body["field"].is_string() && !body["field"].get<std::string>().empty() &&
        body["field"] != "scenario_yaml") {
      msg = body["field"].get<std::string>() + ": " + msg;
    }
    return msg;
  }
  std::string text = r.body.substr(0, 200);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.empty() ? "no message" : text;
}

// One request; a transport failure or a non-2xx answer is an error with one line of text.
core::Result<ApiResponse> call_raw(const ApiClient& client, const std::string& method, const std::string& path,
                                   const std::string& body, std::string_view what) {
  auto r = method == "GET" ? client.get(path) : client.post(path, body);
  if (!r) return std::unexpected(core::Error::unavailable(fmt::format("server unreachable: {}", r.error().message())));
  if (r->status < 200 || r->status >= 300) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("the server refused to {} (HTTP {}): {}", what, r->status, server_error(*r))));
  }
  return std::move(*r);
}

// The same, the answer's JSON (an empty object when it is not JSON).
core::Result<json> call(const ApiClient& client, const std::string& method, const std::string& path,
                        const std::string& body, std::string_view what) {
  const ApiResponse r = TOCSIN_TRY(call_raw(client, method, path, body, what));
  json doc = json::parse(r.body, nullptr, false);
  if (doc.is_discarded()) doc = json::object();
  return doc;
}

json push_body(const std::vector<core::Sample>& samples) {
  json out = json::array();
  for (const auto& s : samples) {
    json labels = json::object();
    std::string name;
    for (const auto& l : s.labels) {
      if (l.name == "__name__") {
        name = l.value;
      } else {
        labels[l.name] = l.value;
      }
    }
    out.push_back({{"name", name}, {"labels", labels}, {"value", s.value}, {"ts", core::to_unix_ms(s.ts)}});
  }
  return out;
}

json events_body(const std::vector<ingest::Event>& events) {
  json out = json::array();
  for (const auto& e : events) {
    json labels = json::object();
    for (const auto& l : e.labels) labels[l.name] = l.value;
    out.push_back({{"type", ingest::to_string(e.type)},
                   {"kind", e.kind},
                   {"labels", labels},
                   {"count", e.count},
                   {"ts", core::to_unix_ms(e.ts)}});
  }
  return out;
}

// "+1m30s" from the drill's start.
std::string offset(core::Timestamp start, core::Timestamp t) {
  if (t < start) return "+0s";
  return "+" + core::format_duration(
                   std::chrono::duration_cast<core::Duration>(std::chrono::floor<std::chrono::seconds>(t - start)));
}

// Shows, once each, what happens to the drill's incidents: opened, then every timeline event
// (pages, skipped pages, acknowledgements, steps done, mitigation, resolution).
class Progress {
 public:
  Progress(const ApiClient& client, std::string drill_id, core::Timestamp start)
      : client_(client), drill_id_(std::move(drill_id)), start_(start) {}

  // One poll; a failed poll is reported once and retried at the next.
  void poll() {
    auto r = client_.get(fmt::format("/api/v1/incidents?since={}&limit=200",
                                     query_escape(core::format_rfc3339(start_ - std::chrono::seconds(1)))));
    if (!r || r->status != 200) {
      if (!poll_failed_) {
        fmt::print(stderr, "  (cannot read the incidents: {})\n",
                   r ? fmt::format("HTTP {}: {}", r->status, server_error(*r)) : r.error().message());
      }
      poll_failed_ = true;
      return;
    }
    poll_failed_ = false;
    json doc = json::parse(r->body, nullptr, false);
    if (!doc.is_object() || !doc["incidents"].is_array()) return;
    // Oldest first, so the lines come in the order things happened.
    std::vector<json> mine;
    for (const auto& inc : doc["incidents"]) {
      if (str(inc, "drill") == drill_id_) mine.push_back(inc);
    }
    std::sort(mine.begin(), mine.end(), [](const json& a, const json& b) {
      return id_of(a) < id_of(b);
    });
    for (const auto& inc : mine) {
      const std::string id = str(inc, "id", "?");
      size_t& shown = shown_[id];
      const json& timeline = inc["timeline"];
      if (!timeline.is_array()) continue;
      for (size_t i = shown; i < timeline.size(); ++i) {
        const json& e = timeline[i];
        const std::string kind = str(e, "kind");
        const auto at = core::parse_rfc3339(str(e, "at"));
        const std::string when = at ? offset(start_, *at) : "?";
        std::string detail = str(e, "detail");
        if (kind == "opened") detail = str(inc, "title", detail);
        const std::string actor = str(e, "actor");
        fmt::print(stderr, "  {:>8}  #{} {}{}{}\n", when, id, kind, actor.empty() ? "" : " by " + actor,
                   detail.empty() ? "" : ": " + detail);
      }
      shown = timeline.size();
    }
  }

 private:
  const ApiClient& client_;
  std::string drill_id_;
  core::Timestamp start_;
  std::map<std::string, size_t> shown_;
  bool poll_failed_ = false;
};

}  // namespace

int run_drill_live(const DrillLiveCommand& command) {
  if (command.seed) {
    return fail(
        "tocsin drill run: --seed is for simulated drills: a live drill plays the scenario's own seed, "
        "which the server scores it with (edit `seed:` in the scenario)");
  }
  if (command.server.empty()) return fail("tocsin drill run: --live needs --server URL (or env TOCSIN_SERVER)");
  std::ifstream in(command.scenario, std::ios::binary);
  if (!in) return fail(fmt::format("{}: cannot read the scenario file", command.scenario));
  std::stringstream text;
  text << in.rdbuf();
  const std::string yaml = text.str();
  auto parsed = drill::parse_scenario(yaml, command.scenario);
  if (!parsed) return fail(parsed.error().to_string());
  drill::Scenario s = std::move(*parsed);
  if (!command.config.empty()) {
    auto cfg = config::load_config(command.config);
    if (!cfg) return fail(cfg.error().to_string());
    auto warnings = drill::validate_scenario(s, *cfg);
    if (!warnings) return fail(warnings.error().to_string());
  }

  // From before the registration on, so a Ctrl-C never leaves a registered drill running.
  StopSignals signals;
  const ApiClient client(command.server, command.token, command.ca_file);
  json registration = {{"scenario_yaml", yaml}, {"scenario_file", command.scenario}, {"actor", command.actor}};
  auto registered = call(client, "POST", "/api/v1/drills/live", registration.dump(), "register the drill");
  if (!registered) return fail(fmt::format("tocsin drill run: {}", registered.error().message()));
  const std::string id = str(*registered, "id");
  const auto started_at = core::parse_rfc3339(str(*registered, "started_at"));
  if (id.empty() || !started_at) {
    return fail(fmt::format("tocsin drill run: unexpected answer to the registration: {}", registered->dump()));
  }
  // The scenario runs from the registration time: its faults and the scorecard's times are laid
  // out from the server's clock.
  s.start = *started_at;
  if ((*registered)["participants"].is_array()) {
    s.participants = (*registered)["participants"].get<std::vector<std::string>>();
  }
  const core::Timestamp end = s.start + s.duration;
  std::string participants;
  for (const auto& p : s.participants) participants += (participants.empty() ? "" : ", ") + p;
  fmt::print(stderr, "live drill {} ({}) of scenario {} — plan {}, against {}\n", id, str(*registered, "label"), s.name,
             s.plan, command.server);
  fmt::print(stderr, "  participants: {} (nobody else is paged)\n", participants);
  fmt::print(stderr, "  runs {} in real time, from {} to {}; Ctrl-C finishes it early\n",
             core::format_duration(s.duration), core::format_rfc3339(s.start), core::format_rfc3339(end));
  if (!s.responders.empty()) {
    fmt::print(stderr,
               "  the scenario's simulated responders are not used: real people respond through the API, "
               "CLI or UI\n");
  }
  if ((*registered)["warnings"].is_array()) {
    for (const auto& w : (*registered)["warnings"]) fmt::print(stderr, "warning: {}\n", w.get<std::string>());
  }

  core::SystemClock wall;
  const core::MonoTime mono_start = wall.mono_now();
  // Where the drill is on the server's timeline, by the local monotonic clock.
  auto drill_now = [&] { return s.start + std::chrono::duration_cast<core::Duration>(wall.mono_now() - mono_start); };
  drill::SignalGenerator generator(s, core::Labels{{"drill", id}});
  Progress progress(client, id, s.start);
  const core::Duration poll_every =
      std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(command.poll_seconds));
  core::Timestamp next_poll = s.start;
  size_t samples = 0, events = 0;
  std::string stopped_by;
  std::string error;
  while (error.empty()) {
    if (g_stop) {
      stopped_by = "interrupted";
      break;
    }
    const core::Timestamp now = drill_now();
    if (now >= end) break;
    // Everything due by now, in time order (a slow request makes the next ticks catch up).
    while (error.empty()) {
      auto t = generator.next_time();
      if (!t || *t > now || *t >= end) break;
      auto tick = generator.take(*t);
      if (!tick.samples.empty()) {
        auto r = call(client, "POST", "/api/v1/push", push_body(tick.samples).dump(), "take the drill's samples");
        if (!r) error = r.error().message();
        samples += tick.samples.size();
      }
      if (!tick.events.empty() && error.empty()) {
        auto r = call(client, "POST", "/api/v1/events", events_body(tick.events).dump(), "take the drill's events");
        if (!r) error = r.error().message();
        for (const auto& e : tick.events) events += e.count;
      }
    }
    if (!error.empty()) break;
    if (now >= next_poll) {
      progress.poll();
      next_poll = now + poll_every;
    }
    // Sleep until the next thing due, in short steps so a signal is seen at once.
    core::Timestamp wake = std::min(end, next_poll);
    if (auto t = generator.next_time(); t && *t < wake) wake = *t;
    const auto wait =
        std::clamp(wake - drill_now(), core::Duration::zero(), core::Duration(std::chrono::milliseconds(200)));
    std::this_thread::sleep_for(wait);
  }
  progress.poll();
  if (!error.empty()) fmt::print(stderr, "tocsin drill run: {}\n", error);
  if (!stopped_by.empty()) fmt::print(stderr, "  {}: finishing the drill early\n", stopped_by);
  fmt::print(stderr, "drill: {} of real time; {} samples and {} events sent\n",
             core::format_duration(std::chrono::duration_cast<core::Duration>(
                 std::chrono::floor<std::chrono::seconds>(drill_now() - s.start))),
             samples, events);

  // Finish it whatever happened, so it stops paging; the server scores it.
  auto answer = call_raw(client, "POST", fmt::format("/api/v1/drills/live/{}/finish", id),
                         json{{"actor", command.actor}}.dump(), "finish the drill");
  if (!answer) {
    return fail(
        fmt::format("tocsin drill run: {} (live drill {} is still running: finish it with POST "
                    "/api/v1/drills/live/{}/finish)",
                    answer.error().message(), id, id));
  }
  // Ordered, so the scorecard keeps the server's key order (render_json's): it reads like a
  // simulated drill's --json.
  auto finished = nlohmann::ordered_json::parse(answer->body, nullptr, false);
  if (!finished.is_object()) return fail("tocsin drill run: the server's answer to finish is not JSON");
  if (!error.empty()) return 1;
  const auto& card = finished["scorecard"];
  if (!card.is_object()) return fail("tocsin drill run: the server returned no scorecard");
  // The JSON is the scorecard alone, as a simulated drill's; the text ends with the comparison
  // with earlier runs of the scenario.
  const std::string out =
      command.json ? card.dump(2) + "\n" : str(finished, "scorecard_text") + str(finished, "comparison_text");
  std::fwrite(out.data(), 1, out.size(), stdout);
  fmt::print(stderr, "drill: scored by the server and stored as live run {} (GET /api/v1/drills/{})\n",
             str(finished, "run", "?"), str(finished, "run", "?"));
  return 0;
}

}  // namespace tocsin::cli
