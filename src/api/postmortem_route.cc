// The postmortem of an incident and its action items (docs/postmortems.md, docs/api.md):
//   GET  /api/v1/incidents/{id}/postmortem?format=json|md|html
//   PUT  /api/v1/incidents/{id}/postmortem                      {"actor", any of the fields}
//   POST /api/v1/incidents/{id}/postmortem/action-items         {"actor", "title", "owner", "due_at"}
//   POST /api/v1/incidents/{id}/postmortem/action-items/{item}/done | /reopen   {"actor"}
//   POST /api/v1/incidents/{id}/postmortem/complete             {"actor"}
//   GET  /api/v1/action-items?status=open|done|all&owner=&overdue=true|false
// Every write answers the postmortem's JSON as it is once the write committed.
#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/request_principal.h"
#include "api/router.h"
#include "incident/postmortem.h"
#include "report/action_items.h"
#include "report/postmortem.h"

namespace tocsin::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

Response from_error(const core::Error& e) { return Response::error(http_status(e), e.message(), e.field()); }

Response json_response(int status, const json& body) {
  return Response::json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

json time_or_null(const std::optional<core::Timestamp>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}

Response no_route(const Request& request) {
  return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
}

// The body of a write: a JSON object (an empty body is {}), whose members are all strings and all
// in `allowed`. Unknown members are named together, so one answer lists every mistake.
core::Result<json> string_object(const Request& request, const std::vector<std::string_view>& allowed) {
  json body = json::object();
  if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return std::unexpected(core::Error::invalid_argument("malformed JSON"));
    if (!body.is_object()) return std::unexpected(core::Error::invalid_argument("expected a JSON object"));
  }
  std::vector<std::string> unknown;
  for (const auto& [key, value] : body.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) unknown.push_back(key);
  }
  if (!unknown.empty()) {
    std::string names, expected;
    for (const auto& u : unknown) names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", u);
    for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
    return std::unexpected(core::Error::invalid_argument(fmt::format("unknown member{} {}: expected {}",
                                                                     unknown.size() == 1 ? "" : "s", names, expected))
                               .field(unknown.front()));
  }
  for (const auto& [key, value] : body.items()) {
    if (!value.is_string()) {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("{}: expected a string, got {}", key, value.type_name()))
              .field(key));
    }
  }
  return body;
}

std::string member(const json& body, const char* name, std::string fallback = "") {
  auto it = body.find(name);
  return it == body.end() ? fallback : it->get<std::string>();
}

core::Result<int64_t> positive_id(std::string_view text, const char* field) {
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("bad {} \"{}\": expected a positive integer", field, text))
            .field(field));
  }
  return id;
}

}  // namespace

core::Result<json> Router::postmortem_json(int64_t id) {
  core::Result<report::PostmortemInput> input = std::unexpected(core::Error::internal("unread"));
  TOCSIN_RETURN_IF_ERROR(engine_.read_store([&](store::Tx& tx) -> core::Status {
    input = report::read_postmortem_input(tx, id);
    return {};
  }));
  if (!input) return std::unexpected(input.error());
  const config::Config& config = engine_.config();
  const core::Timestamp now = engine_.now();
  const store::Postmortem written = input->written.value_or(store::Postmortem{id, {}, {}, "", {}, ""});
  json fields = json::object();
  for (auto name : incident::kPostmortemFields)
    fields[std::string(name)] = *incident::postmortem_field(written.fields, name);
  json items = json::array();
  for (const auto& item : input->action_items) items.push_back(report::action_item_json(item, now));
  const report::Postmortem draft = report::postmortem_draft(*input, config.plan(input->incident.plan), config.rules);
  return json{{"incident", id},
              {"status", store::to_string(input->incident.status)},
              {"fields", std::move(fields)},
              {"action_items", std::move(items)},
              {"complete", written.completed_at.has_value()},
              {"missing", incident::missing_for_completion(written.fields, input->action_items, config)},
              {"completed_at", time_or_null(written.completed_at)},
              {"completed_by", written.completed_by},
              {"updated_at", time_or_null(written.updated_at)},
              {"updated_by", written.updated_by},
              {"draft_markdown", report::render_markdown(draft)}};
}

Response Router::postmortem_route(const Request& request, int64_t id, std::string_view rest) {
  auto answer = [&](int status) {
    auto body = postmortem_json(id);
    return body ? json_response(status, *body) : from_error(body.error());
  };
  if (rest.empty()) {
    if (request.method == "GET") return postmortem_document(request, id);
    if (request.method != "PUT") return Response::error(405, "use GET or PUT");
    std::vector<std::string_view> allowed{"actor"};
    allowed.insert(allowed.end(), incident::kPostmortemFields.begin(), incident::kPostmortemFields.end());
    auto body = string_object(request, allowed);
    if (!body) return from_error(body.error());
    std::vector<std::pair<std::string, std::string>> fields;
    for (auto name : incident::kPostmortemFields) {
      if (auto it = body->find(std::string(name)); it != body->end()) fields.emplace_back(name, it->get<std::string>());
    }
    if (fields.empty()) {
      return Response::error(400,
                             "nothing to change: expected at least one of summary, impact, root_cause, "
                             "contributing_factors, went_well, went_badly, lessons");
    }
    auto edited = engine_.edit_postmortem(id, fields, engine::Actor(audit_actor(member(*body, "actor", "api")), request.remote));
    return edited ? answer(200) : from_error(edited.error());
  }
  if (rest == "/complete") {
    if (request.method != "POST") return Response::error(405, "use POST");
    auto body = string_object(request, {"actor"});
    if (!body) return from_error(body.error());
    auto closed = engine_.complete_postmortem(id, engine::Actor(audit_actor(member(*body, "actor", "api")), request.remote));
    if (closed) return answer(200);
    if (closed.error().code() != core::ErrorCode::kFailedPrecondition) return from_error(closed.error());
    // 409: say what is missing as a list too, so a client can point at the fields.
    json error = {{"error", closed.error().message()}, {"missing", json::array()}};
    if (!closed.error().field().empty()) error["field"] = closed.error().field();
    if (auto now = postmortem_json(id)) error["missing"] = (*now)["missing"];
    return json_response(409, error);
  }
  if (rest == "/action-items") {
    if (request.method != "POST") return Response::error(405, "use POST");
    auto body = string_object(request, {"actor", "title", "owner", "due_at"});
    if (!body) return from_error(body.error());
    for (const char* required : {"title", "owner", "due_at"}) {
      if (!body->contains(required)) return Response::error(400, fmt::format("{}: required", required), required);
    }
    const std::string due_text = member(*body, "due_at");
    auto due = core::parse_rfc3339(due_text);
    if (!due) {
      return Response::error(
          400, fmt::format("bad due_at \"{}\": expected an RFC 3339 time like 2026-12-31T17:00:00Z", due_text),
          "due_at");
    }
    auto added = engine_.add_action_item(id, member(*body, "title"), member(*body, "owner"), *due,
                                         engine::Actor(audit_actor(member(*body, "actor", "api")), request.remote));
    return added ? answer(201) : from_error(added.error());
  }
  if (rest.starts_with("/action-items/")) {
    const std::string_view tail = rest.substr(14);
    const size_t slash = tail.find('/');
    if (slash == std::string_view::npos) return no_route(request);
    const std::string_view verb = tail.substr(slash + 1);
    if (verb != "done" && verb != "reopen") return no_route(request);
    if (request.method != "POST") return Response::error(405, "use POST");
    auto item = positive_id(tail.substr(0, slash), "item");
    if (!item) return from_error(item.error());
    auto body = string_object(request, {"actor"});
    if (!body) return from_error(body.error());
    auto moved = engine_.set_action_item_done(id, *item, verb == "done",
                                             engine::Actor(audit_actor(member(*body, "actor", "api")), request.remote));
    return moved ? answer(200) : from_error(moved.error());
  }
  return no_route(request);
}

// GET …/postmortem?format=json|md|html: the JSON above, or the document (report/postmortem.h).
Response Router::postmortem_document(const Request& request, int64_t id) {
  std::string format = "md";
  for (const auto& [key, value] : request.query) {
    if (key != "format") {
      return Response::error(400, fmt::format("unknown query parameter \"{}\": expected format", key), key);
    }
    if (value != "md" && value != "html" && value != "json") {
      return Response::error(400, fmt::format("bad format \"{}\": expected md, html or json", value), "format");
    }
    format = value;
  }
  if (format == "json") {
    auto body = postmortem_json(id);
    return body ? json_response(200, *body) : from_error(body.error());
  }
  core::Result<report::PostmortemInput> input = std::unexpected(core::Error::internal("unread"));
  auto read = engine_.read_store([&](store::Tx& tx) -> core::Status {
    input = report::read_postmortem_input(tx, id);
    return {};
  });
  if (!read) return from_error(read.error());
  if (!input) return from_error(input.error());
  const report::Postmortem pm = report::postmortem_draft(*input, engine_.config().plan(input->incident.plan), engine_.config().rules);
  return format == "html" ? Response::text(200, report::render_html(pm), "text/html; charset=utf-8")
                          : Response::text(200, report::render_markdown(pm), "text/markdown; charset=utf-8");
}

// GET /api/v1/action-items: open items by default, across incidents, by due time.
Response Router::list_action_items(const Request& request) {
  if (request.method != "GET") return Response::error(405, "use GET");
  report::ActionItemQuery query;
  for (const auto& [key, value] : request.query) {
    if (key == "status") {
      if (value == "all") {
        query.status.reset();
      } else if (auto status = store::parse_action_item_status(value)) {
        query.status = *status;
      } else {
        return Response::error(400, fmt::format("bad status \"{}\": expected open, done or all", value), "status");
      }
    } else if (key == "owner") {
      if (value.empty()) return Response::error(400, "owner: expected a person id", "owner");
      query.owner = value;
    } else if (key == "overdue") {
      if (value != "true" && value != "false") {
        return Response::error(400, fmt::format("bad overdue \"{}\": expected true or false", value), "overdue");
      }
      query.overdue = value == "true";
    } else {
      return Response::error(400, fmt::format("unknown query parameter \"{}\": expected status, owner, overdue", key),
                             key);
    }
  }
  const core::Timestamp now = engine_.now();
  core::Result<std::vector<report::ActionItemRow>> rows = std::unexpected(core::Error::internal("unread"));
  auto read = engine_.read_store([&](store::Tx& tx) -> core::Status {
    rows = report::read_action_items(tx, query, now);
    return {};
  });
  if (!read) return from_error(read.error());
  if (!rows) return from_error(rows.error());
  return json_response(200, report::action_items_json(*rows, now));
}

}  // namespace tocsin::api
