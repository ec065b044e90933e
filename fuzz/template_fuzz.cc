// Fuzz target: the template languages — notification templates (notify::Template, a Go
// text/template subset: parse, then render over the data a real alert-group flush sees) and the
// rule annotation templates (detect::expand_template). Nothing may crash, throw or hang; a parse
// or render error says what was wrong.
#include "detect/rule_engine.h"
#include "fuzz_check.h"
#include "notify/group_message.h"
#include "notify/template.h"

using tocsin::fuzz::check;

namespace {

const tocsin::notify::TemplateValue& flush_data() {
  static const tocsin::notify::TemplateValue data = [] {
    using tocsin::core::Labels;
    tocsin::notify::GroupMessage m;
    m.receiver = "ops";
    m.group_key = "{}:{alertname=\"HighLoad\"}";
    m.group_labels = Labels{{"alertname", "HighLoad"}};
    m.external_url = "https://tocsin.example/";
    for (int i = 0; i < 2; ++i) {
      tocsin::notify::GroupAlert a;
      a.labels = Labels{{"alertname", "HighLoad"}, {"instance", i ? "b:9100" : "a:9100"}, {"severity", "page"}};
      a.fingerprint = a.labels.fingerprint();
      a.annotations = {{"summary", "load is 0.95"}, {"runbook", "https://runbooks/x?a=1&b=2"}};
      a.firing = i == 0;
      a.starts_at = tocsin::core::from_unix_ms(1'796'400'000'000);
      if (i) a.ends_at = tocsin::core::from_unix_ms(1'796'400'600'000);
      a.generator_url = "http://prom/graph?g0.expr=up";
      m.alerts.push_back(a);
    }
    return tocsin::notify::template_data(m);
  }();
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tocsin::fuzz::as_text(data, size);
  if (auto t = tocsin::notify::Template::parse(text)) {
    if (auto out = t->render(flush_data()); !out) check(!out.error().message().empty());
  } else {
    check(!t.error().message().empty());
  }
  const tocsin::core::Labels labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "a:9100"}};
  (void)tocsin::detect::expand_template(text, labels, 0.95);
  (void)tocsin::detect::expand_template(text, labels, -1.5e300);
  return 0;
}
