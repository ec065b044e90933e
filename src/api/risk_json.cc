#include "api/risk_json.h"

#include <nlohmann/json.hpp>

namespace tocsin::api {

using nlohmann::json;

nlohmann::json risk_register_json(const risk_register::Register& reg) {
  json risks = json::array();
  for (const risk_register::Entry& e : reg.entries) {
    risks.push_back({{"id", e.id},
                     {"title", e.title},
                     {"likelihood", e.likelihood ? json(*e.likelihood) : json(nullptr)},
                     {"source", risk_register::source_name(e.source)},
                     {"impact", e.impact},
                     {"score", e.score ? json(*e.score) : json(nullptr)},
                     {"level", e.level ? json(risk_register::level_name(*e.level)) : json(nullptr)},
                     {"owner", e.owner},
                     {"plan", e.plan.empty() ? json(nullptr) : json(e.plan)},
                     {"mitigation", e.mitigation},
                     {"review", risk_register::format_date(e.review)},
                     {"review_overdue", e.review_overdue}});
  }
  return {{"risks", std::move(risks)}, {"generated_at", core::format_rfc3339(reg.generated_at)}};
}

}  // namespace tocsin::api
