// The risk register read model (docs/risk-register.md): the `risks:` of a Config, each with its
// score (likelihood × impact, 0..5), level band, and whether its review is overdue, sorted by
// score. What GET /api/v1/risk and `tocsin risk register` show, and what the heat map draws.
//
// A likelihood is set by hand (`likelihood:`) or comes from a trained model (`likelihood_from:`).
// Model likelihoods arrive through a `ModelLikelihood` callback that the composition root supplies
// once the risk models are wired; without one (or when it has no answer) such a risk has no
// likelihood, score or level yet and sorts last.
// Thread-safety: pure functions over their arguments.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/time.h"

namespace tocsin::risk_register {

enum class Source { kManual, kModel };
std::string_view source_name(Source s);  // "manual" | "model"

// Bands of the score (likelihood × impact, from 0 to 5). Upper bounds are exclusive.
enum class Level { kLow, kMedium, kHigh, kCritical };
inline constexpr double kMediumFrom = 1.0;
inline constexpr double kHighFrom = 2.0;
inline constexpr double kCriticalFrom = 3.5;
Level level_of(double score);
std::string_view level_name(Level level);  // "low" | "medium" | "high" | "critical"

// The heat map's likelihood axis: five bands of width 0.2, 0 = rare [0, 0.2) … 4 = almost
// certain [0.8, 1] (1.0 itself falls in the top band).
inline constexpr int kLikelihoodBands = 5;
int likelihood_band(double likelihood);
std::string_view likelihood_band_name(int band);  // "rare", "unlikely", "possible", "likely", "almost certain"

struct Entry {
  std::string id;
  std::string title;
  Source source = Source::kManual;
  std::optional<double> likelihood;  // unset: from a model that has not answered
  int impact = 1;
  std::optional<double> score;  // likelihood × impact, when the likelihood is known
  std::optional<Level> level;
  std::string owner;
  std::string plan;  // may be empty
  std::string mitigation;
  std::chrono::sys_days review;
  bool review_overdue = false;  // the review date has passed (a review is due on its date, overdue after)
};

// The probability `ref` gives, or nullopt when it cannot say (yet).
using ModelLikelihood = std::function<std::optional<double>(const config::RiskModelRef& ref)>;

struct Register {
  std::vector<Entry> entries;  // by score, highest first; unknown scores last; ties by impact, then id
  core::Timestamp generated_at;
};

Register build_register(const std::vector<config::Risk>& risks, core::Timestamp now,
                        const ModelLikelihood& model_likelihood = {});

// "2027-03-01"
std::string format_date(std::chrono::sys_days day);

}  // namespace tocsin::risk_register
