#include "drill/history.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>


namespace tocsin::drill {
namespace {

using core::Duration;

std::string dur(Duration d) { return scorecard_duration(d); }

std::optional<Duration> seconds_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw std::invalid_argument(fmt::format("{} is not a number", key));
  return Duration(static_cast<int64_t>(std::llround(it->get<double>() * 1000.0)));
}

// "+2m" / "-30s" / "=" against the earlier value; lower is better for times.
std::string delta(const std::optional<Duration>& now, const std::optional<Duration>& before) {
  if (!now || !before) return "";
  if (*now == *before) return "(same)";
  return *now < *before ? fmt::format("({} faster)", dur(*before - *now)) : fmt::format("({} slower)", dur(*now - *before));
}

}  // namespace

store::DrillRun to_drill_run(const Scorecard& card, const Scenario& scenario, const config::Config& config,
                             std::string_view mode) {
  store::DrillRun run;
  run.scenario = card.scenario;
  run.plan = card.plan;
  run.mode = std::string(mode);
  run.seed = card.seed;
  run.participants = scenario.participants;
  if (run.participants.empty()) {
    for (const auto& p : config.people) run.participants.push_back(p.id);
  }
  run.started_at = card.start;
  run.finished_at = card.end;
  run.score = card.score;
  run.passed = card.expectations_met == static_cast<int>(card.expectations.size());
  run.scorecard_json = render_json(card);
  return run;
}

core::Result<std::vector<PastRun>> past_runs(const std::vector<store::DrillRun>& runs) {
  std::vector<PastRun> out;
  out.reserve(runs.size());
  for (const auto& r : runs) {
    PastRun p;
    p.id = r.id;
    p.ran_at = r.ran_at;
    p.mode = r.mode;
    p.seed = r.seed;
    p.score = static_cast<int>(std::lround(r.score));
    p.passed = r.passed;
    try {
      const auto j = nlohmann::json::parse(r.scorecard_json);
      p.time_to_detect = seconds_field(j, "time_to_detect_seconds");
      p.time_to_acknowledge = seconds_field(j, "time_to_acknowledge_seconds");
      p.time_to_mitigate = seconds_field(j, "time_to_mitigate_seconds");
      p.time_to_resolve = seconds_field(j, "time_to_resolve_seconds");
    } catch (const std::exception& e) {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("drill run {}: its stored scorecard is unreadable: {}", r.id, e.what())));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string render_comparison(const Scorecard& card, const std::vector<PastRun>& earlier, bool color,
                              size_t max_rows) {
  if (earlier.empty()) return "";
  auto paint = [&](std::string_view code, std::string_view s) {
    return color ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : std::string(s);
  };
  const PastRun& last = earlier.front();
  std::string out = fmt::format("\nCompared with earlier runs of {}\n", card.scenario);
  const int diff = card.score - last.score;
  out += fmt::format("  score            {} vs {} in run #{}  {}\n", card.score, last.score, last.id,
                     diff == 0  ? std::string("(same)")
                     : diff > 0 ? paint("32", fmt::format("(+{})", diff))
                                : paint("31", fmt::format("({})", diff)));
  auto line = [&](std::string_view name, const std::optional<Duration>& now, const std::optional<Duration>& before) {
    if (!now && !before) return;
    out += fmt::format("  {:<16} {} vs {}  {}\n", name, now ? dur(*now) : "-", before ? dur(*before) : "-",
                       delta(now, before));
  };
  line("detect", card.time_to_detect, last.time_to_detect);
  line("acknowledge", card.time_to_acknowledge, last.time_to_acknowledge);
  line("mitigate", card.time_to_mitigate, last.time_to_mitigate);
  line("resolve", card.time_to_resolve, last.time_to_resolve);
  out += fmt::format("  {:<6} {:<20} {:<9} {:>6} {:>5}  {}\n", "run", "recorded", "mode", "seed", "score", "expectations");
  for (size_t i = 0; i < earlier.size() && i < max_rows; ++i) {
    const PastRun& r = earlier[i];
    out += fmt::format("  #{:<5} {:<20} {:<9} {:>6} {:>5}  {}\n", r.id, core::format_rfc3339(r.ran_at).substr(0, 19) + "Z",
                       r.mode, r.seed, r.score, r.passed ? "all met" : "some unmet");
  }
  if (earlier.size() > max_rows) out += fmt::format("  … {} older (GET /api/v1/drills?scenario={})\n", earlier.size() - max_rows, card.scenario);
  return out;
}

}  // namespace tocsin::drill
