// Helpers shared by the alerting tests: configs through the real loader, alerts by labels.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "alerting/alert.h"
#include "config/loader.h"
#include "core/time.h"

namespace tocsin::alerting::testing {

inline const core::Timestamp kT0 = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

inline std::shared_ptr<const config::Config> load(const std::string& yaml) {
  auto cfg = config::load_config_string(yaml, "tocsin.yaml", ".");
  EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().to_string());
  return std::make_shared<const config::Config>(std::move(cfg).value());
}

inline Alert alert(core::Labels labels, core::Timestamp starts, std::optional<core::Timestamp> ends,
                   core::Timestamp received) {
  Alert a;
  a.fingerprint = labels.fingerprint();
  a.labels = std::move(labels);
  a.active_at = starts;
  a.ends_at = ends;
  a.updated_at = received;
  return a;
}

}  // namespace tocsin::alerting::testing
