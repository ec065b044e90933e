#include "cli/risk_register_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>
#include <map>
#include <nlohmann/json.hpp>

#include "api/risk_json.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/file_io.h"
#include "risk_register/heatmap.h"

namespace tocsin::cli {

namespace rr = risk_register;

std::string format_register_table(const rr::Register& reg) {
  const std::array<std::string, 10> header = {"#",      "ID",    "LEVEL", "SCORE",  "LIKELIHOOD",
                                              "IMPACT", "OWNER", "PLAN",  "REVIEW", "TITLE"};
  std::vector<std::array<std::string, 10>> rows{header};
  std::map<std::string_view, int> per_level;
  int overdue = 0, pending = 0;
  for (size_t i = 0; i < reg.entries.size(); ++i) {
    const rr::Entry& e = reg.entries[i];
    const std::string likelihood = e.likelihood ? fmt::format("{:.2f}{}", *e.likelihood,
                                                              e.source == rr::Source::kModel ? " (model)" : "")
                                                : "? (model)";
    rows.push_back({std::to_string(i + 1), e.id, e.level ? std::string(rr::level_name(*e.level)) : "-",
                    e.score ? fmt::format("{:.2f}", *e.score) : "-", likelihood, std::to_string(e.impact), e.owner,
                    e.plan.empty() ? "-" : e.plan,
                    rr::format_date(e.review) + (e.review_overdue ? " OVERDUE" : ""), e.title});
    if (e.level) ++per_level[rr::level_name(*e.level)];
    if (!e.likelihood) ++pending;
    if (e.review_overdue) ++overdue;
  }
  std::array<size_t, 10> width{};
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      // Numbers right-aligned, text left; the last column is not padded.
      const bool numeric = c == 0 || c == 3 || c == 5;
      if (c + 1 == row.size()) {
        line += row[c];
      } else {
        line += numeric ? fmt::format("{:>{}}  ", row[c], width[c]) : fmt::format("{:<{}}  ", row[c], width[c]);
      }
    }
    out += line + "\n";
  }
  std::string levels;
  for (std::string_view name : {"critical", "high", "medium", "low"}) {
    if (auto it = per_level.find(name); it != per_level.end()) {
      levels += fmt::format("{}{} {}", levels.empty() ? "" : ", ", it->second, name);
    }
  }
  out += fmt::format("{} risk{}{}{}; {} review{} overdue\n", reg.entries.size(), reg.entries.size() == 1 ? "" : "s",
                     levels.empty() ? "" : ": " + levels,
                     pending ? fmt::format(", {} with a model likelihood not known yet", pending) : "", overdue,
                     overdue == 1 ? "" : "s");
  return out;
}

int run_risk_register(const RiskRegisterCommand& command) {
  auto cfg = config::load_config(command.config);
  if (!cfg) {
    fmt::print(stderr, "tocsin risk register: {}\n", cfg.error().to_string());
    return 1;
  }
  core::SystemClock clock;
  // Model likelihoods are not wired yet (the risk models are a separate layer): such risks are
  // listed with an unknown likelihood.
  const rr::Register reg = rr::build_register(cfg->risks, clock.now());
  if (!command.plot.empty()) {
    if (auto written = core::write_file_atomically(command.plot, rr::render_heatmap_svg(reg)); !written) {
      fmt::print(stderr, "tocsin risk register: {}\n", written.error().to_string());
      return 1;
    }
  }
  if (command.json) {
    fmt::print("{}\n", api::risk_register_json(reg).dump(2));
  } else if (reg.entries.empty()) {
    fmt::print("no risks in {} (add a `risks:` section; see docs/risk-register.md)\n", command.config);
  } else {
    fmt::print("{}", format_register_table(reg));
  }
  return 0;
}

}  // namespace tocsin::cli
