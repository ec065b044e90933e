#include "drill/scorecard.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/duration.h"

namespace tocsin::drill {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string dur(Duration d) { return scorecard_duration(d); }

double seconds(Duration d) { return static_cast<double>(d.count()) / 1000.0; }

bool done(const store::Task& t) { return t.status == store::TaskStatus::kDone; }

// "commander: alice (schedule:ops-primary)" -> {commander, alice}
std::pair<std::string, std::string> parse_role_assigned(std::string_view detail) {
  const size_t colon = detail.find(": ");
  if (colon == std::string_view::npos) return {};
  std::string role(detail.substr(0, colon));
  std::string_view rest = detail.substr(colon + 2);
  std::string person(rest.substr(0, rest.find(" (")));
  if (person == "nobody") person.clear();
  return {role, person};
}

std::optional<int> number_after(std::string_view key, std::string_view prefix) {
  const size_t at = key.find(prefix);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = key.data() + at + prefix.size();
  int v = 0;
  auto [end, ec] = std::from_chars(begin, key.data() + key.size(), v);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return v;
}

std::string person_role(const StepScore& s) {
  return fmt::format("owner role {}, {}", s.owner, s.assignee.empty() ? "nobody" : s.assignee);
}

}  // namespace

std::string paged_person(const config::Config& config, const store::Notification& n) {
  if (n.target.starts_with("person:")) return n.target.substr(7);
  if (!n.target.starts_with("schedule:")) return "";
  for (const auto& p : config.people) {
    if (n.address == p.contact.webhook || n.address == p.contact.email || n.address == p.contact.slack) return p.id;
  }
  return "";
}

std::optional<std::pair<int, int>> ladder_step(const store::Notification& n) {
  auto pass = number_after(n.dedup_key, "/pass:");
  auto level = number_after(n.dedup_key, "/level:");
  if (!pass || !level || *level <= 0) return std::nullopt;
  return std::pair{*pass, *level};
}

std::string_view to_string(StepOutcome outcome) {
  switch (outcome) {
    case StepOutcome::kOnTime:
      return "on_time";
    case StepOutcome::kLate:
      return "late";
    case StepOutcome::kSkipped:
      return "skipped";
    case StepOutcome::kNever:
      return "never";
    case StepOutcome::kPending:
      return "pending";
  }
  return "unknown";
}

Scorecard compute_scorecard(const Scenario& scenario, const config::Config& config, const DrillRecord& record) {
  Scorecard card;
  card.scenario = scenario.name;
  card.plan = scenario.plan;
  card.seed = scenario.seed;
  card.start = record.start;
  card.end = record.end;
  for (const auto& f : record.faults) {
    if (!card.first_fault || f.from < *card.first_fault) card.first_fault = f.from;
  }

  std::vector<const store::Incident*> mine;
  for (const auto& inc : record.incidents) {
    if (inc.plan == scenario.plan) {
      mine.push_back(&inc);
    } else {
      ++card.other_incidents;
    }
  }
  std::sort(mine.begin(), mine.end(), [](const store::Incident* a, const store::Incident* b) {
    return std::tie(a->opened_at, a->id) < std::tie(b->opened_at, b->id);
  });
  card.incidents = static_cast<int>(mine.size());
  const store::Incident* inc = mine.empty() ? nullptr : mine.front();

  // Detection: the first alert of this drill that fired once the first fault had started.
  if (card.first_fault) {
    std::optional<Timestamp> fired;
    for (const auto& a : record.alerts) {
      if (!record.drill_id.empty() && a.labels.get_or("drill", "") != record.drill_id) continue;
      if (!a.fired_at || *a.fired_at < *card.first_fault) continue;
      if (!fired || *a.fired_at < *fired) fired = a.fired_at;
    }
    if (!fired && inc) fired = inc->opened_at;
    if (fired) card.time_to_detect = *fired - *card.first_fault;
  }

  std::map<std::string, PersonScore> people;
  auto person = [&](const std::string& id) -> PersonScore& {
    auto& p = people[id];
    p.person = id;
    return p;
  };
  const std::vector<std::string> participants = [&] {
    std::vector<std::string> out = scenario.participants;
    if (out.empty()) {
      for (const auto& p : config.people) out.push_back(p.id);
    }
    return out;
  }();
  for (const auto& id : participants) person(id);

  if (inc) {
    card.incident = inc->id;
    card.opened_at = inc->opened_at;
    if (inc->acknowledged_at) card.time_to_acknowledge = *inc->acknowledged_at - inc->opened_at;
    if (inc->mitigated_at) card.time_to_mitigate = *inc->mitigated_at - inc->opened_at;
    if (inc->resolved_at) card.time_to_resolve = *inc->resolved_at - inc->opened_at;
    for (const auto& e : inc->timeline) {
      if (e.kind == "acknowledged") {
        card.acknowledged_by = e.actor;
        break;
      }
    }
    // Steps, in plan order.
    std::vector<store::Task> tasks = inc->tasks;
    std::sort(tasks.begin(), tasks.end(), [](const store::Task& a, const store::Task& b) { return a.ord < b.ord; });
    for (const auto& t : tasks) {
      StepScore s;
      s.step = t.step;
      s.title = t.title;
      s.owner = t.owner;
      s.assignee = t.assignee;
      s.due_at = t.due_at;
      s.done_at = t.done_at;
      s.done_by = t.done_by;
      if (t.status == store::TaskStatus::kSkipped) {
        s.outcome = StepOutcome::kSkipped;
      } else if (done(t)) {
        s.outcome = t.done_at && *t.done_at > t.due_at ? StepOutcome::kLate : StepOutcome::kOnTime;
        if (s.outcome == StepOutcome::kLate) s.lateness = *t.done_at - t.due_at;
      } else if (t.due_at <= record.end) {
        s.outcome = StepOutcome::kNever;
        s.lateness = record.end - t.due_at;
      }
      for (const auto& earlier : tasks) {
        // Plans list steps in the order they are meant to be done, but a later step may be due
        // sooner (contain in 1h after confirm in 24h): only an earlier step due no later counts.
        if (earlier.ord < t.ord && earlier.due_at <= t.due_at && t.status != store::TaskStatus::kOpen &&
            earlier.status != store::TaskStatus::kOpen && earlier.done_at && t.done_at &&
            *earlier.done_at > *t.done_at) {
          s.out_of_order = true;
        }
      }
      card.steps.push_back(std::move(s));
    }
  }

  // Roles, from the role assignments on the timeline.
  if (const config::Plan* plan = config.plan(scenario.plan)) {
    for (const auto& [role, target] : plan->roles) {
      RoleScore r;
      r.role = role;
      if (inc) {
        for (const auto& e : inc->timeline) {
          if (e.kind != "role_assigned") continue;
          auto [name, who] = parse_role_assigned(e.detail);
          if (name == role) r.person = who;
        }
      }
      for (const auto& s : card.steps) {
        if (s.owner != role || s.outcome == StepOutcome::kPending) continue;
        ++r.steps_due;
        if (s.outcome == StepOutcome::kOnTime || s.outcome == StepOutcome::kLate) ++r.steps_done;
      }
      r.covered = inc && !r.person.empty() && (r.steps_due == 0 || r.steps_done > 0);
      card.roles.push_back(std::move(r));
    }
  }

  // Pages of the plan's incidents: one per ladder step and person.
  int pages_to_people = 0, pages_missed = 0;
  for (const store::Incident* i : mine) {
    struct Page {
      Timestamp at;
      std::pair<int, int> step;
      std::string person;
    };
    std::map<std::tuple<int, int, std::string>, Timestamp> first;
    std::set<std::pair<int, int>> steps;
    std::map<std::pair<int, int>, Timestamp> step_at;
    std::set<std::tuple<int64_t, std::string>> others;
    for (const auto& n : record.notifications) {
      if (n.incident_id != i->id) continue;
      const std::string who = paged_person(config, n);
      const auto step = ladder_step(n);
      if (!step) {
        if (!who.empty() && others.emplace(core::to_unix_ms(n.created_at), who).second) ++person(who).other_pages;
        continue;
      }
      auto [it, fresh] = step_at.emplace(*step, n.created_at);
      if (!fresh && n.created_at < it->second) it->second = n.created_at;
      if (who.empty()) continue;
      auto [pit, pfresh] = first.emplace(std::tuple{step->first, step->second, who}, n.created_at);
      if (!pfresh && n.created_at < pit->second) pit->second = n.created_at;
    }
    if (i == inc) card.escalations = std::max(0, static_cast<int>(step_at.size()) - 1);
    std::string acker;
    for (const auto& e : i->timeline) {
      if (e.kind == "acknowledged") {
        acker = e.actor;
        break;
      }
    }
    for (const auto& e : i->timeline) {
      if (e.kind == "acknowledged" && people.contains(e.actor)) ++person(e.actor).acks;
    }
    for (const auto& [key, at] : first) {
      const auto& who = std::get<2>(key);
      // The next ladder step after this page.
      std::optional<Timestamp> next;
      for (const auto& [s, t] : step_at) {
        if (t > at && (!next || t < *next)) next = t;
      }
      PersonScore& p = person(who);
      ++p.pages;
      ++pages_to_people;
      const bool acked_in_time =
          i->acknowledged_at && *i->acknowledged_at >= at && (!next || *i->acknowledged_at < *next);
      const bool acked_before = i->acknowledged_at && *i->acknowledged_at < at;
      if (acked_in_time && acker == who) {
        ++p.answered;
      } else if (acked_in_time || acked_before) {
        // someone else answered first: neither answered nor missed
      } else {
        ++p.missed;
        ++pages_missed;
      }
    }
  }
  for (const auto& s : card.steps) {
    if ((s.outcome == StepOutcome::kOnTime || s.outcome == StepOutcome::kLate) && !s.done_by.empty()) {
      PersonScore& p = person(s.done_by);
      ++p.steps_done;
      if (s.outcome == StepOutcome::kLate) ++p.steps_late;
    }
    if (s.outcome == StepOutcome::kNever && !s.assignee.empty()) ++person(s.assignee).steps_never;
  }
  for (auto& [id, p] : people) card.people.push_back(p);

  // Expectations.
  const Expectations& ex = scenario.expect;
  auto within = [&](std::string name, const std::optional<Duration>& expected, const std::optional<Duration>& actual,
                    std::string_view missing) {
    if (!expected) return;
    ExpectationResult r;
    r.name = std::move(name);
    r.expected = dur(*expected);
    r.actual = actual ? dur(*actual) : std::string(missing);
    r.met = actual && *actual <= *expected;
    card.expectations.push_back(std::move(r));
  };
  within("detected_within", ex.detected_within, card.time_to_detect, "not detected");
  within("acknowledged_within", ex.acknowledged_within, card.time_to_acknowledge, "not acknowledged");
  within("mitigated_within", ex.mitigated_within, card.time_to_mitigate, "not mitigated");
  within("resolved_within", ex.resolved_within, card.time_to_resolve, "not resolved");
  if (!ex.steps_in_order.empty()) {
    ExpectationResult r;
    r.name = "steps_in_order";
    for (const auto& s : ex.steps_in_order) r.expected += (r.expected.empty() ? "" : ", ") + s;
    std::vector<std::pair<Timestamp, std::string>> order;
    std::string missing;
    for (const auto& id : ex.steps_in_order) {
      auto it = std::find_if(card.steps.begin(), card.steps.end(), [&](const StepScore& s) { return s.step == id; });
      if (it == card.steps.end() || !it->done_at ||
          (it->outcome != StepOutcome::kOnTime && it->outcome != StepOutcome::kLate)) {
        missing += (missing.empty() ? "" : ", ") + id;
      } else {
        order.emplace_back(*it->done_at, id);
      }
    }
    const bool sorted =
        std::is_sorted(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (!missing.empty()) {
      r.actual = fmt::format("not done: {}", missing);
    } else {
      std::vector<std::pair<Timestamp, std::string>> by_time = order;
      std::stable_sort(by_time.begin(), by_time.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [t, id] : by_time) r.actual += (r.actual.empty() ? "" : ", ") + id;
    }
    r.met = missing.empty() && sorted;
    card.expectations.push_back(std::move(r));
  }
  for (const auto& e : card.expectations) card.expectations_met += e.met ? 1 : 0;

  // The score.
  int due = 0;
  double credit = 0;
  for (const auto& s : card.steps) {
    if (s.outcome == StepOutcome::kPending) continue;
    ++due;
    if (s.outcome == StepOutcome::kOnTime) credit += 1;
    if (s.outcome == StepOutcome::kLate) credit += 0.5;
  }
  card.expectation_ratio = card.expectations.empty() ? 1.0
                                                     : static_cast<double>(card.expectations_met) /
                                                           static_cast<double>(card.expectations.size());
  card.step_ratio = due == 0 ? 1.0 : credit / due;
  card.page_ratio = pages_to_people == 0 ? 1.0 : 1.0 - static_cast<double>(pages_missed) / pages_to_people;
  card.score =
      inc ? static_cast<int>(std::lround(40 * card.expectation_ratio + 40 * card.step_ratio + 20 * card.page_ratio))
          : 0;

  // Findings, in a fixed order: detection, expectations, steps, pages, escalation, roles.
  auto find = [&](std::string kind, std::string who, std::string role, std::string step, std::string text) {
    card.findings.push_back({std::move(kind), std::move(who), std::move(role), std::move(step), std::move(text)});
  };
  if (!card.time_to_detect) {
    find("not_detected", "", "", "", "no alert fired for the injected faults; the plan never started");
  } else if (!inc) {
    find("not_detected", "", "", "", fmt::format("alerts fired but no incident of plan {} opened", scenario.plan));
  }
  for (const auto& e : card.expectations) {
    if (e.met || e.name == "steps_in_order" || e.name == "detected_within") continue;
    const std::string kind = e.name == "acknowledged_within"
                                 ? (card.time_to_acknowledge ? "slow_ack" : "not_acknowledged")
                             : e.name == "mitigated_within" ? "not_mitigated"
                                                            : "not_resolved";
    // A slow acknowledgement is the acknowledger's only when they had the first page; after an
    // escalation it is the first level's (the escalation finding says so).
    find(kind, e.name == "acknowledged_within" && card.escalations == 0 ? card.acknowledged_by : "", "", "",
         fmt::format("{}: {} (expected within {})", e.name, e.actual, e.expected));
  }
  if (!card.expectations.empty()) {
    for (const auto& e : card.expectations) {
      if (e.name == "detected_within" && !e.met && card.time_to_detect) {
        find("slow_detection", "", "", "", fmt::format("detected after {} (expected within {})", e.actual, e.expected));
      }
      // Steps not done at all are findings of their own (never_step); this is about the order.
      if (e.name == "steps_in_order" && !e.met && !e.actual.starts_with("not done")) {
        find("out_of_order", "", "", "",
             fmt::format("expected the steps {} in that order; got {}", e.expected, e.actual));
      }
    }
  }
  for (const auto& s : card.steps) {
    switch (s.outcome) {
      case StepOutcome::kLate:
        find("late_step", s.done_by, s.owner, s.step,
             fmt::format("step {} ({}) was {} late", s.step, person_role(s), dur(s.lateness)));
        break;
      case StepOutcome::kNever:
        find("never_step", s.assignee, s.owner, s.step,
             fmt::format("step {} ({}) was never done; due {} after the incident opened", s.step, person_role(s),
                         inc ? dur(s.due_at - inc->opened_at) : "?"));
        break;
      case StepOutcome::kSkipped:
        find("skipped_step", s.done_by, s.owner, s.step,
             fmt::format("step {} ({}) was skipped", s.step, person_role(s)));
        break;
      default:
        break;
    }
    if (s.out_of_order) {
      find("out_of_order", s.done_by, s.owner, s.step,
           fmt::format("step {} ({}) was done before a step that comes earlier in the plan", s.step, person_role(s)));
    }
  }
  for (const auto& p : card.people) {
    if (p.missed > 0) {
      find("missed_pages", p.person, "", "",
           fmt::format("{} missed {} of {} page{}", p.person, p.missed, p.pages, p.pages == 1 ? "" : "s"));
    }
  }
  if (card.escalations > 0) {
    find("escalation", "", "", "",
         fmt::format("the page went {} ladder step{} beyond the first before the incident was acknowledged",
                     card.escalations, card.escalations == 1 ? "" : "s"));
  }
  for (const auto& r : card.roles) {
    if (inc && !r.covered) {
      find("uncovered_role", r.person, r.role, "",
           r.person.empty() ? fmt::format("role {} had nobody to fill it", r.role)
                            : fmt::format("role {} ({}) did none of its {} due step{}", r.role, r.person, r.steps_due,
                                          r.steps_due == 1 ? "" : "s"));
    }
  }
  // An unmet steps_in_order whose steps were merely still open at the end (not yet due, so no
  // never_step finding) would otherwise leave a FAIL with "none" under Findings.
  for (const auto& e : card.expectations) {
    if (e.name != "steps_in_order" || e.met || !e.actual.starts_with("not done")) continue;
    std::string open_steps;
    for (const auto& id : scenario.expect.steps_in_order) {
      const bool reported = std::any_of(card.findings.begin(), card.findings.end(),
                                        [&](const Finding& f) { return f.step == id; });
      const auto it = std::find_if(card.steps.begin(), card.steps.end(), [&](const StepScore& st) { return st.step == id; });
      const bool done = it != card.steps.end() && it->done_at &&
                        (it->outcome == StepOutcome::kOnTime || it->outcome == StepOutcome::kLate);
      if (!reported && !done) open_steps += (open_steps.empty() ? "" : ", ") + id;
    }
    if (!open_steps.empty()) {
      find("steps_not_done", "", "", "",
           fmt::format("the drill ended with {} still open (expected the steps {} done in that order)", open_steps,
                       e.expected));
    }
  }
  card.recommendations = training_plan(card);
  return card;
}

std::vector<Recommendation> training_plan(const Scorecard& card) {
  std::vector<Recommendation> out;
  auto add = [&](std::string who, std::string text) {
    for (const auto& r : out) {
      if (r.who == who && r.text == text) return;
    }
    out.push_back({std::move(who), std::move(text)});
  };
  for (const auto& f : card.findings) {
    if (f.kind == "late_step") {
      add("person:" + (f.person.empty() ? std::string("?") : f.person),
          fmt::format("rehearse step {} of plan {} (role {}): walk through its checklist in a tabletop and time it "
                      "against its due time",
                      f.step, card.plan, f.role));
    } else if (f.kind == "never_step") {
      if (!f.person.empty()) {
        add("person:" + f.person, fmt::format("confirm that {} knows step {} of plan {} is theirs (role {}), and "
                                              "rehearse it with them",
                                              f.person, f.step, card.plan, f.role));
      }
      add("role:" + f.role, fmt::format("step {} was never done: give role {} a backup person in plan {}, or move the "
                                        "step to a role that is always staffed",
                                        f.step, f.role, card.plan));
    } else if (f.kind == "skipped_step") {
      add("plan:" + card.plan, fmt::format("step {} was skipped: review whether it is needed, or why it could not be "
                                           "done",
                                           f.step));
    } else if (f.kind == "out_of_order") {
      add(f.role.empty() ? "plan:" + card.plan : "role:" + f.role,
          "steps were done out of the plan's order: rehearse the plan in order, or reorder the plan to match practice");
    } else if (f.kind == "missed_pages") {
      add("person:" + f.person,
          fmt::format("{} missed pages: check their contact methods and notification settings, and run a paging test "
                      "with them",
                      f.person));
    } else if (f.kind == "escalation") {
      add("plan:" + card.plan,
          "the first escalation level did not answer: check who is on call and shorten the time to "
          "acknowledge in the next drill");
    } else if (f.kind == "slow_ack" && !f.person.empty()) {
      add("person:" + f.person,
          "acknowledge faster: practise acknowledging from the page's link or `tocsin incident ack`");
    } else if (f.kind == "not_acknowledged") {
      add("plan:" + card.plan,
          "nobody acknowledged: run a paging test with everyone on the escalation policy, and "
          "check the schedule has someone on call");
    } else if (f.kind == "not_mitigated") {
      add("plan:" + card.plan,
          fmt::format("mitigate sooner: rehearse the steps up to mitigation in plan {} end to end, "
                      "and agree who declares the incident mitigated",
                      card.plan));
    } else if (f.kind == "not_resolved") {
      add("plan:" + card.plan,
          fmt::format("resolve sooner: rehearse recovery and verification in plan {}, and agree who "
                      "declares the incident resolved",
                      card.plan));
    } else if (f.kind == "uncovered_role") {
      add("role:" + f.role, fmt::format("role {} was not covered: name a person or schedule that is reachable, and "
                                        "train them on its steps",
                                        f.role));
    } else if (f.kind == "not_detected" || f.kind == "slow_detection") {
      add("plan:" + card.plan,
          "detection failed or was slow: check the rules that watch the injected series "
          "(thresholds, `for:`) with `tocsin detect` on recorded data");
    }
  }
  // People first, then roles, then the plan: a training plan reads per person and role.
  auto rank = [](const Recommendation& r) {
    return r.who.starts_with("person:") ? 0 : r.who.starts_with("role:") ? 1 : 2;
  };
  std::stable_sort(out.begin(), out.end(), [&](const Recommendation& a, const Recommendation& b) {
    return std::pair(rank(a), a.who) < std::pair(rank(b), b.who);
  });
  return out;
}

std::string render_text(const Scorecard& card, bool color) {
  auto paint = [&](std::string_view code, std::string_view s) {
    return color ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : std::string(s);
  };
  auto mark = [&](bool ok) { return ok ? paint("32", "ok  ") : paint("31", "FAIL"); };
  auto opt = [&](const std::optional<Duration>& d, std::string_view missing) {
    return d ? dur(*d) : std::string(missing);
  };
  std::string out;
  out += fmt::format("Drill {} — plan {} (seed {})\n", card.scenario, card.plan, card.seed);
  out += fmt::format("  {} {} → {} ({})\n", card.mode, core::format_rfc3339(card.start),
                     core::format_rfc3339(card.end), dur(card.end - card.start));
  const std::string score_text = fmt::format("{}/100", card.score);
  out += fmt::format("  score {}   = 40×{:.2f} expectations + 40×{:.2f} steps + 20×{:.2f} pages\n",
                     paint(card.score >= 80   ? "1;32"
                           : card.score >= 50 ? "1;33"
                                              : "1;31",
                           score_text),
                     card.expectation_ratio, card.step_ratio, card.page_ratio);
  out += "\nResponse\n";
  out += fmt::format("  {:<16} {}\n", "incident",
                     card.incident ? fmt::format("#{} ({} of this plan, {} other)", *card.incident, card.incidents,
                                                 card.other_incidents)
                                   : std::string("none opened"));
  out += fmt::format("  {:<16} {}\n", "detect",
                     opt(card.time_to_detect, "not detected") + "  (first fault → first alert)");
  out += fmt::format("  {:<16} {}{}\n", "acknowledge", opt(card.time_to_acknowledge, "not acknowledged"),
                     card.acknowledged_by.empty() ? "" : fmt::format("  by {}", card.acknowledged_by));
  out += fmt::format("  {:<16} {}\n", "mitigate", opt(card.time_to_mitigate, "not mitigated"));
  out += fmt::format("  {:<16} {}\n", "resolve", opt(card.time_to_resolve, "not resolved"));
  out += fmt::format("  {:<16} {}\n", "escalations", card.escalations);
  if (!card.expectations.empty()) {
    out += fmt::format("\nExpectations ({} of {} met)\n", card.expectations_met, card.expectations.size());
    for (const auto& e : card.expectations) {
      out += fmt::format("  {} {:<20} expected {:<12} got {}\n", mark(e.met), e.name, e.expected, e.actual);
    }
  }
  if (!card.steps.empty()) {
    out += "\nSteps\n";
    out += fmt::format("  {:<16} {:<14} {:<8} {:<11} {:<11} {}\n", "step", "role", "who", "due", "done", "outcome");
    const Timestamp base = card.opened_at.value_or(card.start);
    for (const auto& s : card.steps) {
      std::string outcome(to_string(s.outcome));
      if (s.outcome == StepOutcome::kLate || s.outcome == StepOutcome::kNever) outcome += " by " + dur(s.lateness);
      if (s.out_of_order) outcome += ", out of order";
      const std::string_view code = s.outcome == StepOutcome::kOnTime    ? "32"
                                    : s.outcome == StepOutcome::kPending ? "2"
                                    : s.outcome == StepOutcome::kLate    ? "33"
                                                                         : "31";
      out +=
          fmt::format("  {:<16} {:<14} {:<8} {:<11} {:<11} {}\n", s.step, s.owner,
                      s.done_by.empty() ? (s.assignee.empty() ? "-" : s.assignee) : s.done_by,
                      "+" + dur(s.due_at - base), s.done_at ? "+" + dur(*s.done_at - base) : "-", paint(code, outcome));
    }
    out += "  (times from the incident's opening)\n";
  }
  if (!card.roles.empty()) {
    out += "\nRoles\n";
    for (const auto& r : card.roles) {
      out +=
          fmt::format("  {} {:<16} {:<8} {} of {} due step{} done\n", mark(r.covered), r.role,
                      r.person.empty() ? "nobody" : r.person, r.steps_done, r.steps_due, r.steps_due == 1 ? "" : "s");
    }
  }
  if (!card.people.empty()) {
    out += "\nPeople\n";
    out += fmt::format("  {:<10} {:>5} {:>8} {:>6} {:>5} {:>6} {:>5} {:>6} {:>6}\n", "person", "pages", "answered",
                       "missed", "other", "acks", "steps", "late", "never");
    for (const auto& p : card.people) {
      out += fmt::format("  {:<10} {:>5} {:>8} {:>6} {:>5} {:>6} {:>5} {:>6} {:>6}\n", p.person, p.pages, p.answered,
                         p.missed, p.other_pages, p.acks, p.steps_done, p.steps_late, p.steps_never);
    }
  }
  out += "\nFindings\n";
  if (card.findings.empty()) out += "  none: the response went by the plan\n";
  for (const auto& f : card.findings) out += fmt::format("  - {}\n", f.text);
  if (!card.recommendations.empty()) {
    out += "\nTraining plan\n";
    for (const auto& r : card.recommendations) out += fmt::format("  {:<20} {}\n", r.who, r.text);
  }
  return out;
}

std::string scorecard_duration(Duration d) {
  if (d < Duration{}) return "-" + core::format_duration(-d);
  // Whole seconds read better on a scorecard than milliseconds.
  return core::format_duration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

std::string render_json(const Scorecard& card) {
  auto opt_seconds = [](const std::optional<Duration>& d) {
    return d ? ordered_json(seconds(*d)) : ordered_json(nullptr);
  };
  ordered_json j;
  j["scenario"] = card.scenario;
  j["plan"] = card.plan;
  j["seed"] = card.seed;
  j["start"] = core::format_rfc3339(card.start);
  j["end"] = core::format_rfc3339(card.end);
  j["first_fault"] = card.first_fault ? ordered_json(core::format_rfc3339(*card.first_fault)) : ordered_json(nullptr);
  j["score"] = card.score;
  j["score_parts"] = {{"expectations", card.expectation_ratio}, {"steps", card.step_ratio}, {"pages", card.page_ratio}};
  j["incident"] = card.incident ? ordered_json(*card.incident) : ordered_json(nullptr);
  j["opened_at"] = card.opened_at ? ordered_json(core::format_rfc3339(*card.opened_at)) : ordered_json(nullptr);
  j["incidents"] = card.incidents;
  j["other_incidents"] = card.other_incidents;
  j["time_to_detect_seconds"] = opt_seconds(card.time_to_detect);
  j["time_to_acknowledge_seconds"] = opt_seconds(card.time_to_acknowledge);
  j["time_to_mitigate_seconds"] = opt_seconds(card.time_to_mitigate);
  j["time_to_resolve_seconds"] = opt_seconds(card.time_to_resolve);
  j["acknowledged_by"] = card.acknowledged_by;
  j["escalations"] = card.escalations;
  ordered_json ex = ordered_json::array();
  for (const auto& e : card.expectations) {
    ex.push_back({{"name", e.name}, {"expected", e.expected}, {"actual", e.actual}, {"met", e.met}});
  }
  j["expectations"] = ex;
  j["expectations_met"] = card.expectations_met;
  ordered_json steps = ordered_json::array();
  for (const auto& s : card.steps) {
    steps.push_back({{"step", s.step},
                     {"title", s.title},
                     {"owner", s.owner},
                     {"assignee", s.assignee},
                     {"due_at", core::format_rfc3339(s.due_at)},
                     {"done_at", s.done_at ? ordered_json(core::format_rfc3339(*s.done_at)) : ordered_json(nullptr)},
                     {"done_by", s.done_by},
                     {"outcome", std::string(to_string(s.outcome))},
                     {"lateness_seconds", seconds(s.lateness)},
                     {"out_of_order", s.out_of_order}});
  }
  j["steps"] = steps;
  ordered_json roles = ordered_json::array();
  for (const auto& r : card.roles) {
    roles.push_back({{"role", r.role},
                     {"person", r.person},
                     {"steps_due", r.steps_due},
                     {"steps_done", r.steps_done},
                     {"covered", r.covered}});
  }
  j["roles"] = roles;
  ordered_json people = ordered_json::array();
  for (const auto& p : card.people) {
    people.push_back({{"person", p.person},
                      {"pages", p.pages},
                      {"answered", p.answered},
                      {"missed", p.missed},
                      {"other_pages", p.other_pages},
                      {"acks", p.acks},
                      {"steps_done", p.steps_done},
                      {"steps_late", p.steps_late},
                      {"steps_never", p.steps_never}});
  }
  j["people"] = people;
  ordered_json findings = ordered_json::array();
  for (const auto& f : card.findings) {
    findings.push_back({{"kind", f.kind}, {"person", f.person}, {"role", f.role}, {"step", f.step}, {"text", f.text}});
  }
  j["findings"] = findings;
  ordered_json recs = ordered_json::array();
  for (const auto& r : card.recommendations) recs.push_back({{"who", r.who}, {"text", r.text}});
  j["training_plan"] = recs;
  return j.dump(2) + "\n";
}

}  // namespace tocsin::drill
