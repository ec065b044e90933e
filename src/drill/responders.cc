#include "drill/responders.h"

#include <cmath>

#include "drill/scorecard.h"

namespace tocsin::drill {
namespace {

// Someone with no profile at all acknowledges 1–3 minutes after a page.
Delay builtin_ack() {
  Delay d;
  d.kind = Delay::Kind::kUniform;
  d.min = std::chrono::minutes(1);
  d.max = std::chrono::minutes(3);
  return d;
}

// Engine refusals a person meets in real life too (the incident moved on, the task was done by
// someone else): the responder shrugs. Anything else stops the drill.
bool is_refusal(const core::Error& e) {
  return e.code() == core::ErrorCode::kFailedPrecondition || e.code() == core::ErrorCode::kNotFound ||
         e.code() == core::ErrorCode::kInvalidArgument;
}

}  // namespace

Responders::Responders(const Scenario& scenario, const config::Config& config, engine::Engine& engine, uint64_t seed)
    : scenario_(scenario), config_(config), engine_(engine), seed_(seed) {}

Rng& Responders::rng_for(const std::string& person) {
  auto it = rngs_.find(person);
  if (it == rngs_.end()) it = rngs_.emplace(person, Rng(mix_seed(seed_, "person:" + person))).first;
  return it->second;
}

std::optional<Duration> Responders::draw(const std::string& person, const Delay& d) {
  Rng& rng = rng_for(person);
  const double u = rng.uniform();  // always one draw, so `never` does not shift later draws
  switch (d.kind) {
    case Delay::Kind::kNever:
      return std::nullopt;
    case Delay::Kind::kFixed:
      return d.fixed;
    case Delay::Kind::kUniform:
      return Duration(d.min.count() +
                      static_cast<int64_t>(std::floor(u * static_cast<double>((d.max - d.min).count()))));
    case Delay::Kind::kLognormal: {
      const double z = rng.normal();
      const double ms = static_cast<double>(d.median.count()) * std::exp(d.sigma * z);
      return std::min(Duration(static_cast<int64_t>(std::llround(ms))), d.max);
    }
  }
  return std::nullopt;
}

bool Responders::takes_part(const std::string& person) const {
  return scenario_.participants.empty() || std::find(scenario_.participants.begin(), scenario_.participants.end(),
                                                     person) != scenario_.participants.end();
}

const Responder* Responders::profile(const std::string& person, int64_t incident) {
  std::vector<std::string> roles;
  if (auto inc = engine_.get_incident(incident)) {
    if (const config::Plan* plan = config_.plan(inc->plan)) {
      for (const auto& [role, target] : plan->roles) {
        if (engine_.who_fills(target) == person) roles.push_back(role);
      }
    }
  }
  return responder_for(scenario_, person, roles);
}

void Responders::plan(Timestamp at, Action action) { queue_.emplace(std::pair{at, seq_++}, std::move(action)); }

void Responders::on_page(const store::Notification& n, Timestamp now) {
  const auto step = ladder_step(n);
  if (!step) return;  // overdue-task and clock pages do not change anyone's plan
  const std::string person = paged_person(config_, n);
  if (person.empty() || !takes_part(person)) return;
  // One decision per ladder step and person, however many contact methods were paged.
  if (!seen_pages_.emplace(n.incident_id, step->first, step->second, person).second) return;
  const Responder* p = profile(person, n.incident_id);
  const double miss = p ? p->miss_probability : 0.0;
  const bool missed = rng_for(person).uniform() < miss;
  const Delay ack = p && p->ack_after ? *p->ack_after : builtin_ack();
  const auto delay = draw(person, ack);
  if (missed || !delay) return;
  plan(now + *delay, Action{Kind::kAck, n.incident_id, person, ""});
}

std::optional<Timestamp> Responders::next_time() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

core::Status Responders::start_plan(int64_t incident, const std::string& acknowledger, Timestamp now) {
  auto inc = TOCSIN_TRY(engine_.get_incident(incident));
  const config::Plan* plan_cfg = config_.plan(inc.plan);
  for (const auto& task : inc.tasks) {
    if (task.status != store::TaskStatus::kOpen) continue;
    std::string person = task.assignee;
    if (person.empty() && plan_cfg) {
      if (const config::Target* t = plan_cfg->role_target(task.owner)) person = engine_.who_fills(*t);
    }
    if (person.empty() || !takes_part(person)) continue;
    const Responder* p = profile(person, incident);
    std::optional<Duration> delay;
    if (p && p->steps.contains(task.step)) {
      delay = draw(person, p->steps.at(task.step));
    } else {
      // Unlisted: somewhere between now and the due time (or 1–5 minutes when already due).
      Delay d;
      d.kind = Delay::Kind::kUniform;
      if (task.due_at > now + std::chrono::minutes(1)) {
        d.min = std::chrono::minutes(1);
        d.max = task.due_at - now;
      } else {
        d.min = std::chrono::minutes(1);
        d.max = std::chrono::minutes(5);
      }
      delay = draw(person, d);
    }
    if (!delay) continue;
    const bool has_action = std::any_of(inc.actions.begin(), inc.actions.end(), [&](const store::ActionRun& r) {
      return r.step == task.step && r.state == store::ActionState::kAwaitingApproval;
    });
    if (has_action) {
      std::optional<Duration> approve = delay;
      if (p && p->approve_after) approve = draw(person, *p->approve_after);
      if (approve) plan(now + std::min(*approve, *delay), Action{Kind::kApprove, incident, person, task.step});
    }
    plan(now + *delay, Action{Kind::kStep, incident, person, task.step});
  }
  const Responder* p = profile(acknowledger, incident);
  if (p && p->mitigate_after) {
    if (auto d = draw(acknowledger, *p->mitigate_after))
      plan(now + *d, Action{Kind::kMitigate, incident, acknowledger, ""});
  }
  if (p && p->resolve_after) {
    if (auto d = draw(acknowledger, *p->resolve_after))
      plan(now + *d, Action{Kind::kResolve, incident, acknowledger, ""});
  }
  return {};
}

core::Status Responders::run_due(Timestamp now) {
  while (!queue_.empty() && queue_.begin()->first.first <= now) {
    Action a = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    ++taken_;
    core::Result<store::Incident> out = std::unexpected(core::Error::internal("unreachable"));
    switch (a.kind) {
      case Kind::kAck: {
        auto inc = TOCSIN_TRY(engine_.get_incident(a.incident));
        if (inc.status != store::IncidentStatus::kTriggered) continue;  // someone was quicker
        out = engine_.acknowledge(a.incident, a.person);
        if (out) TOCSIN_RETURN_IF_ERROR(start_plan(a.incident, a.person, now));
        break;
      }
      case Kind::kApprove:
        out = engine_.approve_action(a.incident, a.step, a.person);
        break;
      case Kind::kStep:
        out = engine_.complete_task(a.incident, a.step, false, a.person);
        break;
      case Kind::kMitigate:
        out = engine_.mitigate(a.incident, a.person);
        break;
      case Kind::kResolve:
        out = engine_.resolve(a.incident, a.person);
        break;
    }
    if (!out && !is_refusal(out.error())) return std::unexpected(out.error());
  }
  return {};
}

}  // namespace tocsin::drill
