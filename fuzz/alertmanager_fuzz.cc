// Fuzz target: the Alertmanager bodies tocsin reads — POST /api/v2/alerts (both the fast scanner
// and the general reader), POST /api/v2/silences and the webhook v4 payload. Each input goes to
// all of them. Nothing may crash or throw; and since the scanner promises to accept only what the
// general reader accepts and to read it to the same alerts, the two are compared.
#include "api/alert_list_scanner.h"
#include "api/alertmanager_api.h"
#include "fuzz_check.h"

using tocsin::fuzz::check;

namespace {

const auto kNow = tocsin::core::from_unix_ms(1'796'400'000'000);
const std::optional<tocsin::core::Duration> kResolveTimeout = std::chrono::minutes(5);

void check_alert(const tocsin::alerting::Alert& a) {
  check(!a.labels.empty() && a.fingerprint == a.labels.fingerprint());
  for (const auto& l : a.labels) check(tocsin::core::is_valid_label_name(l.name) && !l.value.empty());
}

bool same(const tocsin::alerting::Alert& a, const tocsin::alerting::Alert& b) {
  return a.fingerprint == b.fingerprint && a.labels == b.labels && a.annotations == b.annotations &&
         a.active_at == b.active_at && a.updated_at == b.updated_at && a.ends_at == b.ends_at &&
         a.ends_at_from_timeout == b.ends_at_from_timeout && a.generator_url == b.generator_url;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body = tocsin::fuzz::as_text(data, size);
  auto general = tocsin::api::parse_alerts_body(body, kNow, kResolveTimeout);
  if (general) {
    for (const auto& a : *general) check_alert(a);
  } else {
    check(!general.error().message().empty());
  }
  if (auto fast = tocsin::api::scan_alert_list(body, kNow, kResolveTimeout)) {
    check(general.has_value() && general->size() == fast->size());
    for (size_t i = 0; i < fast->size(); ++i) check(same((*fast)[i], (*general)[i]));
  }
  if (auto silence = tocsin::api::parse_silence_body(body, kNow)) {
    check(silence->starts_at < silence->ends_at && silence->ends_at >= kNow);
  } else {
    check(!silence.error().message().empty());
  }
  if (auto alerts = tocsin::api::parse_webhook_body(body, kNow)) {
    for (const auto& a : *alerts) check_alert(a);
  } else {
    check(!alerts.error().message().empty());
  }
  return 0;
}
