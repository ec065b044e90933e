#include "risk_register/register.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace tocsin::risk_register {

std::string_view source_name(Source s) { return s == Source::kModel ? "model" : "manual"; }

Level level_of(double score) {
  if (score >= kCriticalFrom) return Level::kCritical;
  if (score >= kHighFrom) return Level::kHigh;
  if (score >= kMediumFrom) return Level::kMedium;
  return Level::kLow;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kLow: return "low";
    case Level::kMedium: return "medium";
    case Level::kHigh: return "high";
    case Level::kCritical: return "critical";
  }
  return "low";
}

int likelihood_band(double likelihood) {
  const int band = static_cast<int>(std::floor(std::clamp(likelihood, 0.0, 1.0) * kLikelihoodBands));
  return std::min(band, kLikelihoodBands - 1);
}

std::string_view likelihood_band_name(int band) {
  static constexpr std::string_view kNames[kLikelihoodBands] = {"rare", "unlikely", "possible", "likely",
                                                                "almost certain"};
  assert(band >= 0 && band < kLikelihoodBands && "likelihood band out of range");
  return kNames[band];
}

Register build_register(const std::vector<config::Risk>& risks, core::Timestamp now,
                        const ModelLikelihood& model_likelihood) {
  Register reg;
  reg.generated_at = now;
  const auto today = std::chrono::floor<std::chrono::days>(now);
  for (const config::Risk& risk : risks) {
    Entry e;
    e.id = risk.id;
    e.title = risk.title;
    e.impact = risk.impact;
    e.owner = risk.owner;
    e.plan = risk.plan;
    e.mitigation = risk.mitigation;
    e.review = risk.review;
    e.review_overdue = risk.review < today;
    if (risk.likelihood_from) {
      e.source = Source::kModel;
      if (model_likelihood) {
        // A model's answer outside [0, 1] is not a probability: treat it as no answer.
        if (auto p = model_likelihood(*risk.likelihood_from); p && *p >= 0 && *p <= 1) e.likelihood = *p;
      }
    } else {
      e.likelihood = risk.likelihood;
    }
    if (e.likelihood) {
      // Rounded to 6 decimals so 0.1 × 3 reads 0.3, in the API and at the band edges.
      e.score = std::round(*e.likelihood * e.impact * 1e6) / 1e6;
      e.level = level_of(*e.score);
    }
    reg.entries.push_back(std::move(e));
  }
  std::stable_sort(reg.entries.begin(), reg.entries.end(), [](const Entry& a, const Entry& b) {
    if (a.score.has_value() != b.score.has_value()) return a.score.has_value();
    if (a.score && *a.score != *b.score) return *a.score > *b.score;
    if (a.impact != b.impact) return a.impact > b.impact;
    return a.id < b.id;
  });
  return reg;
}

std::string format_date(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

}  // namespace tocsin::risk_register
