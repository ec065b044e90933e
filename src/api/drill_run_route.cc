// POST /api/v1/drills/run: runs a plan's drill scenario (its `drill: {scenario}`) as a simulated
// drill — the same run_drill as `tocsin drill run`, on its own scratch store — and records the
// scored run in the history. Synchronous: a 6-hour scenario takes a few hundredths of a second,
// and the 201 means the run is stored.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "api/drill_json.h"
#include "api/request_principal.h"
#include "api/router.h"
#include "drill/history.h"
#include "drill/runner.h"
#include "drill/scenario.h"

namespace tocsin::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {
Response from_error(const core::Error& e) { return Response::error(http_status(e), e.message(), e.field()); }
}  // namespace

Response Router::run_simulated_drill(const Request& request) {
  json body = json::parse(request.body.empty() ? std::string_view("{}") : std::string_view(request.body), nullptr,
                          /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return Response::error(400, "expected a JSON object");
  std::string plan_id;
  std::optional<uint64_t> seed;
  std::string actor = "api";
  for (const auto& [key, value] : body.items()) {
    if (key == "actor") {
      if (!value.is_string()) return Response::error(400, "actor: expected a string", "actor");
      actor = value.get<std::string>();
      continue;
    }
    if (key == "plan") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return Response::error(400, "plan: expected a plan id", "plan");
      }
      plan_id = value.get<std::string>();
    } else if (key == "seed") {
      if (!value.is_number_unsigned()) return Response::error(400, "seed: expected a non-negative integer", "seed");
      seed = value.get<uint64_t>();
    } else {
      return Response::error(400, fmt::format("unknown field \"{}\": expected plan, seed, actor", key), key);
    }
  }
  if (plan_id.empty()) return Response::error(400, "plan: required (the plan whose drill scenario runs)", "plan");
  const auto config = engine_.shared_config();
  const config::Plan* plan = config->plan(plan_id);
  if (!plan) return Response::error(400, fmt::format("unknown plan \"{}\"", plan_id), "plan");
  if (!plan->drill) {
    return Response::error(409, fmt::format("plan \"{}\" has no drill scenario (add drill: {{every, scenario}} to it)",
                                            plan_id),
                           "plan");
  }
  auto scenario = drill::load_scenario(plan->drill->scenario);
  if (!scenario) return Response::error(409, scenario.error().to_string(), "plan");
  if (scenario->plan != plan_id) {
    return Response::error(409,
                           fmt::format("{}: drills plan \"{}\", not \"{}\"", plan->drill->scenario, scenario->plan, plan_id),
                           "plan");
  }
  auto run = drill::run_drill_in_scratch_store(config, *scenario, seed);
  if (!run) return from_error(run.error());
  auto stored = engine_.record_drill_run(drill::to_drill_run(run->scorecard, *scenario, *config, "simulated"),
                                         engine::Actor(audit_actor(actor), request.remote));
  if (!stored) return from_error(stored.error());
  return Response::json(201, drill_run_json(*stored, true).dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace tocsin::api
