#include "api/drill_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/duration.h"

namespace tocsin::api {

using nlohmann::json;

namespace {

json time_or_null(const std::optional<core::Timestamp>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}

core::Error bad(std::string_view field, std::string message) {
  return core::Error::invalid_argument(std::move(message)).field(std::string(field));
}

// Reads the members of a request body one by one; each getter names the field in its error.
class Fields {
 public:
  explicit Fields(const json& body) : body_(body) {}

  core::Status only(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : body_.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return std::unexpected(bad(key, fmt::format("unknown key: expected {}", list)));
    }
    return {};
  }
  const json* find(const char* name) const {
    auto it = body_.find(name);
    return it == body_.end() ? nullptr : &*it;
  }
  core::Result<std::string> string(const char* name) const {
    const json* v = find(name);
    if (!v) return std::unexpected(bad(name, "missing: expected a string"));
    if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
      return std::unexpected(bad(name, "expected a non-empty string"));
    }
    return v->get<std::string>();
  }
  core::Result<core::Timestamp> time(const char* name) const {
    const json* v = find(name);
    if (!v) return std::unexpected(bad(name, "missing: expected an RFC 3339 time"));
    std::optional<core::Timestamp> t;
    if (v->is_string()) {
      if (auto parsed = core::parse_rfc3339(v->get_ref<const std::string&>())) t = *parsed;
    }
    if (!t) return std::unexpected(bad(name, fmt::format("bad time {}: expected an RFC 3339 time like 2026-12-04T09:00:00Z", v->dump())));
    return *t;
  }
  core::Result<double> score() const {
    const json* v = find("score");
    if (!v) return std::unexpected(bad("score", "missing: expected a number from 0 to 100"));
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < 0 || v->get<double>() > 100) {
      return std::unexpected(bad("score", fmt::format("bad score {}: expected a number from 0 to 100", v->dump())));
    }
    return v->get<double>();
  }
  core::Result<bool> boolean(const char* name) const {
    const json* v = find(name);
    if (!v) return std::unexpected(bad(name, "missing: expected true or false"));
    if (!v->is_boolean()) return std::unexpected(bad(name, fmt::format("bad {} {}: expected true or false", name, v->dump())));
    return v->get<bool>();
  }
  core::Result<uint64_t> seed() const {
    const json* v = find("seed");
    if (!v) return uint64_t{0};
    if (!v->is_number_unsigned()) {
      return std::unexpected(bad("seed", fmt::format("bad seed {}: expected a non-negative integer", v->dump())));
    }
    return v->get<uint64_t>();
  }
  core::Result<std::string> scorecard() const {
    const json* v = find("scorecard");
    if (!v) return std::unexpected(bad("scorecard", "missing: expected the scorecard, a JSON object"));
    if (!v->is_object()) return std::unexpected(bad("scorecard", "expected a JSON object"));
    // Kept as the client sent it, less the blanks: the scorecard is the runner's, not ours.
    return v->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  core::Result<std::vector<std::string>> participants() const {
    const json* v = find("participants");
    std::vector<std::string> out;
    if (!v) return out;
    if (!v->is_array()) return std::unexpected(bad("participants", "expected an array of person ids"));
    for (size_t i = 0; i < v->size(); ++i) {
      const json& p = (*v)[i];
      if (!p.is_string() || p.get_ref<const std::string&>().empty()) {
        return std::unexpected(bad(fmt::format("participants[{}]", i), "expected a person id (a non-empty string)"));
      }
      out.push_back(p.get<std::string>());
    }
    return out;
  }

 private:
  const json& body_;
};

}  // namespace

json drill_run_json(const store::DrillRun& run, bool with_scorecard) {
  json out = {{"id", std::to_string(run.id)},
              {"scenario", run.scenario},
              {"plan", run.plan},
              {"mode", run.mode},
              {"seed", run.seed},
              {"participants", run.participants},
              {"started_at", core::format_rfc3339(run.started_at)},
              {"finished_at", core::format_rfc3339(run.finished_at)},
              {"ran_at", core::format_rfc3339(run.ran_at)},
              {"score", run.score},
              {"passed", run.passed},
              {"live_drill", run.live_drill ? json(std::to_string(*run.live_drill)) : json(nullptr)}};
  if (with_scorecard) {
    // Validated as an object when stored; should the row be damaged, say so rather than fail.
    json card = json::parse(run.scorecard_json, nullptr, /*allow_exceptions=*/false);
    out["scorecard"] = card.is_discarded() ? json(nullptr) : std::move(card);
  }
  return out;
}

json drill_calendar_json(const engine::DrillCalendarEntry& entry, core::Timestamp now) {
  return {{"plan", entry.plan},
          {"every", core::format_duration(entry.every)},
          {"scenario", entry.scenario},
          {"last_run", time_or_null(entry.last_run)},
          {"next_due", core::format_rfc3339(entry.last_run ? entry.next_due : now)},
          {"overdue", entry.overdue}};
}

json live_drill_json(const store::LiveDrill& drill) {
  return {{"id", std::to_string(drill.id)},
          {"scenario", drill.scenario},
          {"plan", drill.plan},
          {"participants", drill.participants},
          {"label", fmt::format("{}=\"{}\"", store::kDrillLabel, drill.id)},
          {"running", !drill.finished_at.has_value()},
          {"started_at", core::format_rfc3339(drill.started_at)},
          {"started_by", drill.started_by},
          {"finished_at", time_or_null(drill.finished_at)},
          {"finished_by", drill.finished_by.empty() ? json(nullptr) : json(drill.finished_by)},
          {"run", drill.run ? json(std::to_string(*drill.run)) : json(nullptr)},
          {"scenario_known", !drill.scenario_yaml.empty()}};
}

core::Result<store::DrillRun> drill_run_from_json(const json& body) {
  if (!body.is_object()) return std::unexpected(core::Error::invalid_argument("expected a JSON object"));
  const Fields f(body);
  TOCSIN_RETURN_IF_ERROR(f.only({"scenario", "plan", "mode", "seed", "participants", "started_at", "finished_at",
                                 "score", "passed", "scorecard", "actor"}));
  store::DrillRun run;
  run.scenario = TOCSIN_TRY(f.string("scenario"));
  run.plan = TOCSIN_TRY(f.string("plan"));
  run.mode = TOCSIN_TRY(f.string("mode"));
  if (run.mode != "simulated" && run.mode != "live") {
    return std::unexpected(bad("mode", fmt::format("bad mode \"{}\": expected simulated or live", run.mode)));
  }
  run.seed = TOCSIN_TRY(f.seed());
  run.participants = TOCSIN_TRY(f.participants());
  run.started_at = TOCSIN_TRY(f.time("started_at"));
  run.finished_at = TOCSIN_TRY(f.time("finished_at"));
  run.score = TOCSIN_TRY(f.score());
  run.passed = TOCSIN_TRY(f.boolean("passed"));
  run.scorecard_json = TOCSIN_TRY(f.scorecard());
  TOCSIN_RETURN_IF_ERROR(store::validate_drill_run(run));  // e.g. finished before it started
  return run;
}

core::Result<store::DrillRun> finish_run_from_json(const json& body, const store::LiveDrill& drill,
                                                   core::Timestamp now) {
  const Fields f(body);
  TOCSIN_RETURN_IF_ERROR(f.only({"actor", "seed", "started_at", "finished_at", "score", "passed", "scorecard"}));
  store::DrillRun run;
  run.scenario = drill.scenario;
  run.plan = drill.plan;
  run.mode = "live";
  run.participants = drill.participants;
  run.seed = TOCSIN_TRY(f.seed());
  run.started_at = f.find("started_at") ? TOCSIN_TRY(f.time("started_at")) : drill.started_at;
  run.finished_at = f.find("finished_at") ? TOCSIN_TRY(f.time("finished_at")) : now;
  run.score = TOCSIN_TRY(f.score());
  run.passed = TOCSIN_TRY(f.boolean("passed"));
  run.scorecard_json = TOCSIN_TRY(f.scorecard());
  TOCSIN_RETURN_IF_ERROR(store::validate_drill_run(run));
  return run;
}

}  // namespace tocsin::api
