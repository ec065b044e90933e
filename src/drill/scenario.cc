#include "drill/scenario.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config/yaml_reader.h"
#include "core/duration.h"
#include "core/matcher.h"

namespace tocsin::drill {
namespace {

using config::yaml::join_path;
using config::yaml::line_of;
using config::yaml::Map;
using config::yaml::Node;
using core::Error;
using core::Result;

constexpr std::string_view kTopKeys[] = {"name",         "description", "plan",   "seed",       "start", "duration",
                                         "participants", "series",      "faults", "responders", "expect"};
constexpr std::string_view kSeriesKeys[] = {"name", "labels", "type",     "base", "daily_amplitude",
                                            "peak", "noise",  "interval", "min",  "max"};
constexpr std::string_view kFaultKeys[] = {"kind", "series",   "event_kind", "labels",
                                           "at",   "duration", "magnitude",  "shape"};
constexpr std::string_view kResponderKeys[] = {"person",           "role",  "default",       "ack_after",
                                               "miss_probability", "steps", "approve_after", "mitigate_after",
                                               "resolve_after"};
constexpr std::string_view kDelayKeys[] = {"min", "max", "median", "sigma"};
constexpr std::string_view kExpectKeys[] = {"detected_within", "acknowledged_within", "mitigated_within",
                                            "resolved_within", "steps_in_order"};

constexpr std::pair<std::string_view, FaultKind> kFaultKinds[] = {{"spike", FaultKind::kSpike},
                                                                  {"ramp", FaultKind::kRamp},
                                                                  {"level_shift", FaultKind::kLevelShift},
                                                                  {"flatline", FaultKind::kFlatline},
                                                                  {"absent", FaultKind::kAbsent},
                                                                  {"noise_burst", FaultKind::kNoiseBurst},
                                                                  {"error_burst", FaultKind::kErrorBurst},
                                                                  {"security_event", FaultKind::kSecurityEvent},
                                                                  {"feedback_burst", FaultKind::kFeedbackBurst}};
constexpr std::pair<std::string_view, Shape> kShapes[] = {
    {"square", Shape::kSquare}, {"linear", Shape::kLinear}, {"triangle", Shape::kTriangle}, {"decay", Shape::kDecay}};

bool is_event(FaultKind k) { return k == FaultKind::kSecurityEvent || k == FaultKind::kFeedbackBurst; }

// Scenario messages name a quoted value like any other and give no flow-map hint.
class Parser : config::yaml::Reader {
 public:
  explicit Parser(std::string file) : Reader(std::move(file), {config::yaml::Quotes::kPlain, false}) {}

  Result<Scenario> parse(const YAML::Node& root) {
    Scenario s;
    s.file = file_;
    s.pos = {file_, 1, 0};
    const Map top = TOCSIN_TRY(map({root, "", 1}, kTopKeys));
    if (!root.IsMap()) return std::unexpected(error({root, "", 1}, "expected a map with name, plan, duration, …"));
    for (const auto& [key, node] : top.entries) s.field_pos[key] = {file_, node.line, 0};
    s.name = TOCSIN_TRY(nonempty_string(TOCSIN_TRY(required(top, "name"))));
    if (const Node* n = top.find("description")) s.description = TOCSIN_TRY(string(*n));
    s.plan = TOCSIN_TRY(nonempty_string(TOCSIN_TRY(required(top, "plan"))));
    if (const Node* n = top.find("seed")) s.seed = TOCSIN_TRY(unsigned_integer(*n));
    {
      const Node n = TOCSIN_TRY(required(top, "start"));
      const std::string text = TOCSIN_TRY(string(n));
      auto t = core::parse_rfc3339(text);
      if (!t)
        return std::unexpected(
            error(n, fmt::format("bad time \"{}\": expected RFC 3339, e.g. 2026-03-02T10:00:00Z", text)));
      s.start = *t;
    }
    {
      const Node n = TOCSIN_TRY(required(top, "duration"));
      s.duration = TOCSIN_TRY(duration(n));
      if (s.duration <= Duration{}) return std::unexpected(error(n, "expected a duration above 0"));
      if (s.duration > std::chrono::hours(24 * 31)) return std::unexpected(error(n, "a drill lasts at most 31d"));
    }
    if (const Node* n = top.find("participants")) {
      for (const Node& item : TOCSIN_TRY(list(*n))) {
        s.participants.push_back(TOCSIN_TRY(nonempty_string(item)));
        s.participant_lines.push_back(item.line);
      }
    }
    if (const Node* n = top.find("series")) {
      for (const Node& item : TOCSIN_TRY(list(*n))) {
        SeriesSpec spec = TOCSIN_TRY(parse_series(item));
        for (const auto& other : s.series) {
          if (other.name == spec.name && other.labels == spec.labels) {
            return std::unexpected(error(item, fmt::format("series \"{}\" with the same labels is already on line {}",
                                                           spec.name, other.pos.line)));
          }
        }
        s.series.push_back(std::move(spec));
      }
    }
    if (const Node* n = top.find("faults")) {
      for (const Node& item : TOCSIN_TRY(list(*n))) s.faults.push_back(TOCSIN_TRY(parse_fault(item, s)));
    }
    if (s.faults.empty()) {
      return std::unexpected(
          error(top.find("faults") ? *top.find("faults") : top.self, "expected at least one fault under \"faults\"")
              .field("faults"));
    }
    if (const Node* n = top.find("responders")) {
      for (const Node& item : TOCSIN_TRY(list(*n))) {
        Responder r = TOCSIN_TRY(parse_responder(item));
        for (const auto& other : s.responders) {
          if (other.person == r.person && other.role == r.role && other.is_default == r.is_default) {
            return std::unexpected(error(item, fmt::format("a responder for the same {} is already on line {}",
                                                           r.is_default       ? "default"
                                                           : r.person.empty() ? "role"
                                                                              : "person",
                                                           other.pos.line)));
          }
        }
        s.responders.push_back(std::move(r));
      }
    }
    if (const Node* n = top.find("expect")) s.expect = TOCSIN_TRY(parse_expect(*n));
    return s;
  }

 private:
  Result<double> number(const Node& n) const {
    if (n.yaml.IsScalar()) {
      const auto v = config::yaml::to_number(n.yaml.Scalar());
      if (v && std::isfinite(*v)) return *v;
    }
    return std::unexpected(error(n, fmt::format("expected a number, got {}", describe(n.yaml))));
  }

  Result<uint64_t> unsigned_integer(const Node& n) const {
    if (n.yaml.IsScalar()) {
      const std::string& s = n.yaml.Scalar();
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
    }
    return std::unexpected(error(n, fmt::format("expected a whole number from 0 to 2^64-1, got {}", describe(n.yaml))));
  }

  Result<Duration> duration(const Node& n) const {
    const std::string text = TOCSIN_TRY(string(n));
    auto d = core::parse_duration(text);
    if (!d) {
      return std::unexpected(
          error(n, fmt::format("bad duration \"{}\": expected e.g. 30s, 5m, 2h ({})", text, d.error().message())));
    }
    return *d;
  }

  Result<core::Labels> labels(const Node& n) const {
    core::Labels out;
    const Map m = TOCSIN_TRY(map(n, {}));
    for (const auto& [key, value] : m.entries) {
      if (!core::is_valid_label_name(key) || key == "__name__") {
        return std::unexpected(
            error(value, fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*, not __name__", key)));
      }
      out.set(key, TOCSIN_TRY(string(value)));
    }
    return out;
  }

  Result<SeriesSpec> parse_series(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kSeriesKeys));
    if (!n.yaml.IsMap()) return std::unexpected(error(n, fmt::format("expected a map, got {}", describe(n.yaml))));
    SeriesSpec s;
    s.pos = {file_, n.line, 0};
    const Node name = TOCSIN_TRY(required(m, "name"));
    s.name = TOCSIN_TRY(nonempty_string(name));
    if (!core::is_valid_metric_name(s.name)) {
      return std::unexpected(
          error(name, fmt::format("bad metric name \"{}\": expected [a-zA-Z_:][a-zA-Z0-9_:]*", s.name)));
    }
    if (const Node* v = m.find("labels")) s.labels = TOCSIN_TRY(labels(*v));
    if (const Node* v = m.find("type")) {
      const std::string t = TOCSIN_TRY(string(*v));
      if (t == "gauge") {
        s.type = SeriesSpec::Type::kGauge;
      } else if (t == "counter") {
        s.type = SeriesSpec::Type::kCounter;
      } else {
        return std::unexpected(error(*v, fmt::format("unknown series type \"{}\": expected gauge or counter", t)));
      }
    }
    s.base = TOCSIN_TRY(number(TOCSIN_TRY(required(m, "base"))));
    if (const Node* v = m.find("daily_amplitude")) s.daily_amplitude = TOCSIN_TRY(number(*v));
    if (const Node* v = m.find("peak")) {
      s.peak = TOCSIN_TRY(duration(*v));
      if (s.peak >= std::chrono::hours(24))
        return std::unexpected(error(*v, "expected a time of day below 24h, e.g. 14h"));
    }
    if (const Node* v = m.find("noise")) {
      s.noise = TOCSIN_TRY(number(*v));
      if (s.noise < 0) return std::unexpected(error(*v, "expected a standard deviation of 0 or more"));
    }
    if (const Node* v = m.find("interval")) {
      s.interval = TOCSIN_TRY(duration(*v));
      if (s.interval < std::chrono::seconds(1))
        return std::unexpected(error(*v, "expected an interval of at least 1s"));
    }
    if (const Node* v = m.find("min")) s.min = TOCSIN_TRY(number(*v));
    if (const Node* v = m.find("max")) s.max = TOCSIN_TRY(number(*v));
    if (s.min && s.max && *s.min > *s.max) {
      return std::unexpected(error(*m.find("max"), fmt::format("max {} is below min {}", *s.max, *s.min)));
    }
    if (s.type == SeriesSpec::Type::kCounter && s.base < 0) {
      return std::unexpected(error(*m.find("base"), "a counter's base rate must be 0 or more"));
    }
    return s;
  }

  Result<Fault> parse_fault(const Node& n, const Scenario& s) const {
    const Map m = TOCSIN_TRY(map(n, kFaultKeys));
    if (!n.yaml.IsMap()) return std::unexpected(error(n, fmt::format("expected a map, got {}", describe(n.yaml))));
    Fault f;
    f.pos = {file_, n.line, 0};
    const Node kind = TOCSIN_TRY(required(m, "kind"));
    const std::string kind_text = TOCSIN_TRY(string(kind));
    bool found = false;
    for (const auto& [name, k] : kFaultKinds) {
      if (name == kind_text) f.kind = k, found = true;
    }
    if (!found) {
      return std::unexpected(
          error(kind, fmt::format("unknown fault kind \"{}\"; expected one of: spike, ramp, level_shift, "
                                  "flatline, absent, noise_burst, error_burst, security_event, "
                                  "feedback_burst",
                                  kind_text)));
    }
    if (is_event(f.kind)) {
      if (const Node* v = m.find("series")) {
        return std::unexpected(
            error(*v, fmt::format("a {} fault makes its own event series; name its event_kind instead", kind_text)));
      }
      f.event_kind = TOCSIN_TRY(nonempty_string(TOCSIN_TRY(required(m, "event_kind"))));
      if (const Node* v = m.find("labels")) {
        f.labels = TOCSIN_TRY(labels(*v));
        if (f.labels.get("kind")) return std::unexpected(error(*v, "label \"kind\" is set by event_kind"));
      }
    } else {
      for (std::string_view key : {"event_kind", "labels"}) {
        if (const Node* v = m.find(key)) {
          return std::unexpected(
              error(*v, fmt::format("\"{}\" applies to security_event and feedback_burst faults only", key)));
        }
      }
      const Node series = TOCSIN_TRY(required(m, "series"));
      f.series = TOCSIN_TRY(nonempty_string(series));
      const auto spec =
          std::find_if(s.series.begin(), s.series.end(), [&](const SeriesSpec& x) { return x.name == f.series; });
      if (spec == s.series.end()) {
        return std::unexpected(
            error(series, fmt::format("unknown series \"{}\": declare it under \"series\"", f.series)));
      }
      if (f.kind == FaultKind::kErrorBurst && spec->type != SeriesSpec::Type::kCounter) {
        return std::unexpected(error(
            series, fmt::format("error_burst needs a counter series; \"{}\" is a gauge (type: counter)", f.series)));
      }
    }
    const Node at = TOCSIN_TRY(required(m, "at"));
    f.at = TOCSIN_TRY(duration(at));
    if (f.at >= s.duration) {
      return std::unexpected(error(at, fmt::format("fault at {} starts after the drill ends (duration {})",
                                                   core::format_duration(f.at), core::format_duration(s.duration))));
    }
    if (f.kind == FaultKind::kLevelShift) {
      f.duration = s.duration - f.at;
      if (const Node* v = m.find("duration")) {
        f.duration = TOCSIN_TRY(duration(*v));
      }
    } else {
      const Node d = TOCSIN_TRY(required(m, "duration"));
      f.duration = TOCSIN_TRY(duration(d));
    }
    if (f.duration <= Duration{}) {
      return std::unexpected(error(m.find("duration") ? *m.find("duration") : n, "expected a duration above 0"));
    }
    if (f.at + f.duration > s.duration) {
      return std::unexpected(
          error(m.find("duration") ? *m.find("duration") : at,
                fmt::format("fault runs to {} past the drill's end ({})", core::format_duration(f.at + f.duration),
                            core::format_duration(s.duration))));
    }
    if (f.kind != FaultKind::kAbsent) {
      const Node mag = TOCSIN_TRY(required(m, "magnitude"));
      f.magnitude = TOCSIN_TRY(number(mag));
      if ((f.kind == FaultKind::kNoiseBurst || f.kind == FaultKind::kErrorBurst || is_event(f.kind)) &&
          f.magnitude <= 0) {
        return std::unexpected(error(mag, "expected a magnitude above 0"));
      }
    } else if (const Node* v = m.find("magnitude")) {
      return std::unexpected(error(*v, "an absent fault has no magnitude"));
    }
    f.shape = f.kind == FaultKind::kRamp ? Shape::kLinear : Shape::kSquare;
    if (const Node* v = m.find("shape")) {
      const std::string text = TOCSIN_TRY(string(*v));
      bool ok = false;
      for (const auto& [name, shape] : kShapes) {
        if (name == text) f.shape = shape, ok = true;
      }
      if (!ok)
        return std::unexpected(
            error(*v, fmt::format("unknown shape \"{}\"; expected square, linear, triangle or decay", text)));
    }
    return f;
  }

  Result<Delay> delay(const Node& n) const {
    Delay d;
    if (n.yaml.IsScalar()) {
      if (n.yaml.Scalar() == "never") {
        d.kind = Delay::Kind::kNever;
        return d;
      }
      d.kind = Delay::Kind::kFixed;
      d.fixed = TOCSIN_TRY(duration(n));
      return d;
    }
    if (!n.yaml.IsMap()) {
      return std::unexpected(error(
          n, fmt::format("expected a duration, never, {{min, max}} or {{median, sigma}}, got {}", describe(n.yaml))));
    }
    const Map m = TOCSIN_TRY(map(n, kDelayKeys));
    const Node* min = m.find("min");
    const Node* max = m.find("max");
    const Node* median = m.find("median");
    const Node* sigma = m.find("sigma");
    if (median) {
      if (min)
        return std::unexpected(error(*min, "a lognormal delay takes median, sigma and an optional max, not min"));
      if (!sigma)
        return std::unexpected(error(*median, "a lognormal delay needs sigma too").field(join_path(n.path, "sigma")));
      d.kind = Delay::Kind::kLognormal;
      d.median = TOCSIN_TRY(duration(*median));
      d.sigma = TOCSIN_TRY(number(*sigma));
      if (d.sigma < 0 || d.sigma > 5) return std::unexpected(error(*sigma, "expected sigma from 0 to 5"));
      d.max = max ? TOCSIN_TRY(duration(*max)) : d.median * 20;
      return d;
    }
    if (sigma) return std::unexpected(error(*sigma, "sigma goes with median (a lognormal delay)"));
    if (!min || !max) {
      return std::unexpected(error(n, "expected {min, max} (uniform) or {median, sigma} (lognormal)"));
    }
    d.kind = Delay::Kind::kUniform;
    d.min = TOCSIN_TRY(duration(*min));
    d.max = TOCSIN_TRY(duration(*max));
    if (d.max < d.min) return std::unexpected(error(*max, "max is below min"));
    return d;
  }

  Result<Responder> parse_responder(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kResponderKeys));
    if (!n.yaml.IsMap()) return std::unexpected(error(n, fmt::format("expected a map, got {}", describe(n.yaml))));
    Responder r;
    r.pos = {file_, n.line, 0};
    if (const Node* v = m.find("person")) r.person = TOCSIN_TRY(nonempty_string(*v)), r.person_line = v->line;
    if (const Node* v = m.find("role")) r.role = TOCSIN_TRY(nonempty_string(*v)), r.role_line = v->line;
    if (const Node* v = m.find("default")) {
      const std::string text = TOCSIN_TRY(string(*v));
      if (text != "true") return std::unexpected(error(*v, "expected true (or leave it out)"));
      r.is_default = true;
    }
    if ((r.person.empty() ? 0 : 1) + (r.role.empty() ? 0 : 1) + (r.is_default ? 1 : 0) != 1) {
      return std::unexpected(error(n, "expected exactly one of person, role or default: true"));
    }
    if (const Node* v = m.find("ack_after")) r.ack_after = TOCSIN_TRY(delay(*v));
    if (const Node* v = m.find("miss_probability")) {
      r.miss_probability = TOCSIN_TRY(number(*v));
      if (r.miss_probability < 0 || r.miss_probability > 1)
        return std::unexpected(error(*v, "expected a probability from 0 to 1"));
    }
    if (const Node* v = m.find("steps")) {
      const Map steps = TOCSIN_TRY(map(*v, {}));
      for (const auto& [step, value] : steps.entries) {
        r.steps[step] = TOCSIN_TRY(delay(value));
        r.step_lines[step] = value.line;
      }
    }
    if (const Node* v = m.find("approve_after")) r.approve_after = TOCSIN_TRY(delay(*v));
    if (const Node* v = m.find("mitigate_after")) r.mitigate_after = TOCSIN_TRY(delay(*v));
    if (const Node* v = m.find("resolve_after")) r.resolve_after = TOCSIN_TRY(delay(*v));
    return r;
  }

  Result<Expectations> parse_expect(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kExpectKeys));
    Expectations e;
    e.pos = {file_, n.line, 0};
    if (const Node* v = m.find("detected_within")) e.detected_within = TOCSIN_TRY(duration(*v));
    if (const Node* v = m.find("acknowledged_within")) e.acknowledged_within = TOCSIN_TRY(duration(*v));
    if (const Node* v = m.find("mitigated_within")) e.mitigated_within = TOCSIN_TRY(duration(*v));
    if (const Node* v = m.find("resolved_within")) e.resolved_within = TOCSIN_TRY(duration(*v));
    if (const Node* v = m.find("steps_in_order")) {
      for (const Node& item : TOCSIN_TRY(list(*v))) {
        std::string step = TOCSIN_TRY(nonempty_string(item));
        if (std::find(e.steps_in_order.begin(), e.steps_in_order.end(), step) != e.steps_in_order.end()) {
          return std::unexpected(error(item, fmt::format("step \"{}\" is listed twice", step)));
        }
        e.steps_in_order.push_back(std::move(step));
        e.step_lines.push_back(item.line);
      }
    }
    return e;
  }
};

}  // namespace

std::string Delay::to_string() const {
  switch (kind) {
    case Kind::kFixed:
      return core::format_duration(fixed);
    case Kind::kUniform:
      return fmt::format("{}..{}", core::format_duration(min), core::format_duration(max));
    case Kind::kLognormal:
      return fmt::format("lognormal(median {}, sigma {})", core::format_duration(median), sigma);
    case Kind::kNever:
      return "never";
  }
  return "";
}

std::string_view to_string(FaultKind kind) {
  for (const auto& [name, k] : kFaultKinds) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::string_view to_string(Shape shape) {
  for (const auto& [name, s] : kShapes) {
    if (s == shape) return name;
  }
  return "unknown";
}

core::Result<Scenario> parse_scenario(std::string_view yaml, std::string file) {
  const YAML::Node root = TOCSIN_TRY(config::yaml::parse_document(yaml, file));
  if (!root.IsMap()) {
    return std::unexpected(
        Error::invalid_argument(fmt::format("expected a scenario map (name, plan, start, duration, "
                                            "faults, …), got {}",
                                            config::yaml::describe(root, config::yaml::Quotes::kPlain)))
            .at({file, 1, 0}));
  }
  return Parser(std::move(file)).parse(root);
}

core::Result<Scenario> load_scenario(const std::filesystem::path& file) {
  const std::string text = TOCSIN_TRY(config::yaml::read_file(file));
  return parse_scenario(text, file.string());
}

std::vector<std::string> event_series_names(FaultKind kind) {
  if (kind == FaultKind::kSecurityEvent) return {"security_events", "security_events_total"};
  if (kind == FaultKind::kFeedbackBurst) return {"user_feedback_reports", "user_feedback_reports_total"};
  return {};
}

const Responder* responder_for(const Scenario& scenario, std::string_view person,
                               const std::vector<std::string>& roles) {
  for (const auto& r : scenario.responders) {
    if (r.person == person) return &r;
  }
  for (const auto& r : scenario.responders) {
    if (!r.role.empty() && std::find(roles.begin(), roles.end(), r.role) != roles.end()) return &r;
  }
  for (const auto& r : scenario.responders) {
    if (r.is_default) return &r;
  }
  return nullptr;
}

core::Result<std::vector<std::string>> validate_scenario(const Scenario& s, const config::Config& config) {
  auto fail = [&](const Position& pos, std::string field, std::string message) {
    return std::unexpected(Error::invalid_argument(std::move(message)).at(pos).field(std::move(field)));
  };
  auto field_pos = [&](const std::string& key) {
    auto it = s.field_pos.find(key);
    return it != s.field_pos.end() ? it->second : s.pos;
  };
  const config::Plan* plan = config.plan(s.plan);
  if (!plan) {
    std::string known;
    for (const auto& p : config.plans) known += (known.empty() ? "" : ", ") + p.id;
    return fail(field_pos("plan"), "plan",
                fmt::format("unknown plan \"{}\" (the config {} has: {})", s.plan, config.path,
                            known.empty() ? "none" : known));
  }
  for (size_t i = 0; i < s.participants.size(); ++i) {
    if (!config.person(s.participants[i])) {
      return fail({s.file, s.participant_lines[i], 0}, fmt::format("participants[{}]", i),
                  fmt::format("unknown person \"{}\" (not in the config's people)", s.participants[i]));
    }
  }
  auto takes_part = [&](const std::string& id) {
    return s.participants.empty() ||
           std::find(s.participants.begin(), s.participants.end(), id) != s.participants.end();
  };
  auto has_step = [&](const std::string& id) {
    return std::any_of(plan->steps.begin(), plan->steps.end(), [&](const config::Step& st) { return st.id == id; });
  };
  for (size_t i = 0; i < s.responders.size(); ++i) {
    const Responder& r = s.responders[i];
    const std::string path = fmt::format("responders[{}]", i);
    if (!r.person.empty()) {
      if (!config.person(r.person)) {
        return fail({s.file, r.person_line, 0}, path + ".person",
                    fmt::format("unknown person \"{}\" (not in the config's people)", r.person));
      }
      if (!takes_part(r.person)) {
        return fail({s.file, r.person_line, 0}, path + ".person",
                    fmt::format("person \"{}\" is not among the participants", r.person));
      }
    }
    if (!r.role.empty() && !plan->role_target(r.role)) {
      std::string roles;
      for (const auto& [name, target] : plan->roles) roles += (roles.empty() ? "" : ", ") + name;
      return fail({s.file, r.role_line, 0}, path + ".role",
                  fmt::format("plan {} has no role \"{}\" (its roles: {})", plan->id, r.role, roles));
    }
    for (const auto& [step, d] : r.steps) {
      if (!has_step(step)) {
        return fail({s.file, r.step_lines.at(step), 0}, fmt::format("{}.steps.{}", path, step),
                    fmt::format("plan {} has no step \"{}\"", plan->id, step));
      }
    }
  }
  for (size_t i = 0; i < s.expect.steps_in_order.size(); ++i) {
    if (!has_step(s.expect.steps_in_order[i])) {
      return fail({s.file, s.expect.step_lines[i], 0}, fmt::format("expect.steps_in_order[{}]", i),
                  fmt::format("plan {} has no step \"{}\"", plan->id, s.expect.steps_in_order[i]));
    }
  }
  // Warnings: injected series that no rule watches cannot be detected.
  std::vector<std::string> warnings;
  auto watched = [&](const std::string& name, const core::Labels& labels) {
    core::Labels full = labels;
    full.set("__name__", name);
    for (const auto& rule : config.rules) {
      if (core::matches_all(rule.selector, full)) return true;
    }
    return false;
  };
  for (const auto& f : s.faults) {
    if (f.kind == FaultKind::kSecurityEvent || f.kind == FaultKind::kFeedbackBurst) {
      core::Labels labels = f.labels;
      labels.set("kind", f.event_kind);
      bool any = false;
      for (const auto& name : event_series_names(f.kind)) any = any || watched(name, labels);
      if (!any) {
        warnings.push_back(
            fmt::format("{}:{}: faults: no rule watches the {} series of event kind \"{}\"; it cannot be "
                        "detected",
                        s.file, f.pos.line, to_string(f.kind), f.event_kind));
      }
      continue;
    }
    for (const auto& spec : s.series) {
      if (spec.name == f.series && !watched(spec.name, spec.labels)) {
        warnings.push_back(fmt::format("{}:{}: faults: no rule watches series {}; the {} cannot be detected", s.file,
                                       f.pos.line, spec.name, to_string(f.kind)));
        break;
      }
    }
  }
  return warnings;
}

}  // namespace tocsin::drill
