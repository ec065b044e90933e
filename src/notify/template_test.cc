#include "notify/template.h"

#include <gtest/gtest.h>

namespace tocsin::notify {
namespace {

using List = TemplateValue::List;
using Map = TemplateValue::Map;
using Methods = TemplateValue::Methods;

TemplateValue alert(std::string_view status, core::Labels labels, std::map<std::string, std::string> annotations = {}) {
  return Map{{"Status", status},
             {"Labels", TemplateValue::kv(labels)},
             {"Annotations", TemplateValue::kv(annotations)},
             {"GeneratorURL", "http://prom/graph"}};
}

TemplateValue sample_data() {
  return Map{
      {"Status", "firing"},
      {"Receiver", "ops hook"},
      {"Count", 2},
      {"Ratio", 0.975},
      {"Empty", ""},
      {"Zero", 0},
      {"Yes", true},
      {"Names", List{"a", "b", "c"}},
      {"Nested", Map{{"Inner", Map{{"Leaf", "deep"}}}}},
      {"Labels", TemplateValue::kv(core::Labels{{"alertname", "HighLoad"}, {"service", "api"}, {"instance", "h1"}})},
      {"Alerts", TemplateValue(List{alert("firing", {{"alertname", "HighLoad"}, {"instance", "h1"}}),
                                    alert("resolved", {{"alertname", "HighLoad"}, {"instance", "h2"}}),
                                    alert("firing", {{"alertname", "HighLoad"}, {"instance", "h3"}})},
                               Methods::kAlerts)},
  };
}

// Parses and renders `text` over sample_data(), failing the test on any error.
std::string render(std::string_view text, const TemplateValue& data = sample_data()) {
  auto t = Template::parse(text);
  if (!t) return "PARSE ERROR: " + t.error().message();
  auto out = t->render(data);
  if (!out) return "RENDER ERROR: " + out.error().message();
  return *out;
}

std::string parse_error(std::string_view text) {
  auto t = Template::parse(text);
  return t ? "parsed" : t.error().message();
}

std::string render_error(std::string_view text) {
  auto t = Template::parse(text);
  if (!t) return "PARSE ERROR: " + t.error().message();
  auto out = t->render(sample_data());
  return out ? "rendered: " + *out : out.error().message();
}

TEST(Template, TextAndFields) {
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render("{{ .Status }}/{{.Receiver}}"), "firing/ops hook");
  EXPECT_EQ(render("{{ .Nested.Inner.Leaf }}"), "deep");
  EXPECT_EQ(render("{{ .Labels.alertname }} on {{ .Labels.instance }}"), "HighLoad on h1");
  EXPECT_EQ(render("{{ .Count }} {{ .Ratio }} {{ .Yes }} {{ .Names }}"), "2 0.975 true [a b c]");
  EXPECT_EQ(render("{{ .Nested.Inner }}"), "map[Leaf:deep]");
  EXPECT_EQ(render("{{ . }}", "just a string"), "just a string");
}

TEST(Template, MissingKeysRenderEmpty) {
  EXPECT_EQ(render("[{{ .Nope }}][{{ .Labels.nope }}][{{ .Nope.Deeper }}]"), "[][][]");
  EXPECT_EQ(render("{{ if eq .Labels.nope \"\" }}empty{{ end }}"), "empty");
  EXPECT_EQ(render("{{ len .Labels.nope }}"), "0");
}

TEST(Template, Literals) {
  EXPECT_EQ(render(R"({{ "a\tb\n\u00e9" }})"), "a\tb\n\xc3\xa9");
  EXPECT_EQ(render("{{ `raw \\n` }}"), "raw \\n");
  EXPECT_EQ(render("{{ 42 }} {{ -1.5 }} {{ 0x10 }} {{ true }} {{ nil }}."), "42 -1.5 16 true .");
}

TEST(Template, IndexAndLen) {
  EXPECT_EQ(render(R"({{ index .Labels "service" }})"), "api");
  EXPECT_EQ(render(R"({{ index .Names 1 }})"), "b");
  EXPECT_EQ(render(R"({{ index .Nested "Inner" "Leaf" }})"), "deep");
  EXPECT_EQ(render(R"({{ index .Labels "missing" }}.)"), ".");
  EXPECT_EQ(render("{{ len .Names }} {{ len .Labels }} {{ len .Status }} {{ .Names | len }}"), "3 3 6 3");
}

TEST(Template, IfElseIfElse) {
  const std::string_view text = R"({{ if eq .Status "resolved" }}R{{ else if gt .Count 1 }}many{{ else }}one{{ end }})";
  EXPECT_EQ(render(text), "many");
  EXPECT_EQ(render(text, Map{{"Status", "firing"}, {"Count", 1}}), "one");
  EXPECT_EQ(render(text, Map{{"Status", "resolved"}, {"Count", 5}}), "R");
  // Go's truth.
  EXPECT_EQ(render("{{ if .Empty }}T{{ else }}F{{ end }}{{ if .Zero }}T{{ else }}F{{ end }}"
                   "{{ if .Names }}T{{ else }}F{{ end }}{{ if .Labels }}T{{ else }}F{{ end }}"
                   "{{ if .Yes }}T{{ else }}F{{ end }}{{ if .Nope }}T{{ else }}F{{ end }}"),
            "FFTTTF");
  EXPECT_EQ(render("{{ if and .Yes .Count }}A{{ end }}{{ if or .Empty .Zero }}B{{ end }}{{ if not .Empty }}C{{ end }}"),
            "AC");
  EXPECT_EQ(render("{{ and .Yes .Status }} {{ or .Empty \"fallback\" }}"), "firing fallback");
}

TEST(Template, AndOrDoNotEvaluatePastTheDecidingArgument) {
  // index on a number would fail; `and` stops at the false .Empty, `or` at the true .Yes.
  EXPECT_EQ(render("{{ and .Empty (index .Count 1) }}|{{ or .Yes (index .Count 1) }}"), "|true");
}

TEST(Template, RangeRebindsDotAndHasElse) {
  EXPECT_EQ(render("{{ range .Names }}<{{ . }}>{{ end }}"), "<a><b><c>");
  EXPECT_EQ(render("{{ range $i, $n := .Names }}{{ $i }}={{ $n }} {{ end }}"), "0=a 1=b 2=c ");
  EXPECT_EQ(render("{{ range $n := .Names }}{{ $n }}{{ end }}"), "abc");
  EXPECT_EQ(render("{{ range $k, $v := .Labels }}{{ $k }}:{{ $v }};{{ end }}"),
            "alertname:HighLoad;instance:h1;service:api;");
  EXPECT_EQ(render("{{ range .Nope }}x{{ else }}none{{ end }}"), "none");
  EXPECT_EQ(render("{{ range .Alerts }}{{ .Labels.instance }}@{{ $.Receiver }} {{ end }}"),
            "h1@ops hook h2@ops hook h3@ops hook ");
}

TEST(Template, WithAndVariables) {
  EXPECT_EQ(render("{{ with .Nested.Inner }}{{ .Leaf }}{{ end }}"), "deep");
  EXPECT_EQ(render("{{ with .Nope }}x{{ else }}no{{ end }}"), "no");
  EXPECT_EQ(render("{{ with $s := .Status }}{{ $s }}{{ end }}"), "firing");
  EXPECT_EQ(render("{{ $x := .Count }}{{ $x }}{{ $x = 7 }} {{ $x }}"), "2 7");
  EXPECT_EQ(render("{{ $n := 0 }}{{ range .Names }}{{ $n = . }}{{ end }}{{ $n }}"), "c");
  EXPECT_EQ(render("{{ range .Names }}{{ $.Status }}{{ end }}"), "firingfiringfiring");
}

TEST(Template, PipelinesAndStringFunctions) {
  EXPECT_EQ(render("{{ .Status | toUpper }} {{ \"MiXed\" | toLower }} {{ title \"hello wide-world\" }}"),
            "FIRING mixed Hello Wide-World");
  EXPECT_EQ(render(R"({{ .Names | join ", " }})"), "a, b, c");
  EXPECT_EQ(render(R"({{ join "+" .Names }})"), "a+b+c");
  EXPECT_EQ(render(R"({{ "  padded  " | trimSpace }}|)"), "padded|");
  EXPECT_EQ(render(R"({{ .Receiver | urlquery }})"), "ops+hook");
  EXPECT_EQ(render(R"({{ "<b>" | safeHtml }})"), "<b>");
  EXPECT_EQ(render(R"({{ (index .Names 0) | toUpper }})"), "A");
  EXPECT_EQ(render(R"({{ stringSlice "x" "y" | join "-" }})"), "x-y");
}

TEST(Template, Comparisons) {
  EXPECT_EQ(render(R"({{ eq .Status "firing" }} {{ ne .Status "firing" }} {{ eq .Count 1 2 }})"), "true false true");
  EXPECT_EQ(render("{{ lt .Count 3 }} {{ gt .Count 3 }} {{ le 2 .Count }} {{ ge \"b\" \"a\" }}"),
            "true false true true");
}

TEST(Template, Printf) {
  EXPECT_EQ(render(R"~({{ printf "%s has %d alerts (%.1f%%)" .Receiver .Count 97.5 }})~"),
            "ops hook has 2 alerts (97.5%)");
  EXPECT_EQ(render(R"({{ printf "%v|%q|%5s|%-4d|%03d|%.2f" .Names "x" "ab" 7 5 .Ratio }})"),
            R"([a b c]|"x"|   ab|7   |005|0.97)");  // 0.975 is 0.97499… as a double
  EXPECT_EQ(render(R"({{ printf "%d %s" "text" }})"), "%!d(string=text) %!s(MISSING)");
  EXPECT_EQ(render(R"({{ printf "one" 2 }})"), "one%!(EXTRA int=2)");
  EXPECT_EQ(render(R"({{ .Count | printf "n=%d" }})"), "n=2");
}

TEST(Template, Regex) {
  EXPECT_EQ(render(R"({{ reReplaceAll ":[0-9]+$" "" "host1:9100" }})"), "host1");
  EXPECT_EQ(render(R"~({{ reReplaceAll "(\\w+)@(\\w+)" "${2}.$1" "user@example" }})~"), "example.user");
  EXPECT_EQ(render(R"~({{ "h1:80" | reReplaceAll "(h)(1)" "$2$$" }})~"), "1$:80");
  EXPECT_EQ(render(R"({{ if match "^h[0-9]" .Labels.instance }}host{{ end }})"), "host");
  // RE2 neither backtracks nor recurses per character: long texts are fine (std::regex had to
  // refuse texts over 4 KiB to keep its stack), and a bad pattern is an error naming it.
  const TemplateValue long_text = Map{{"Text", std::string(100'000, 'a') + ":9100"}};
  EXPECT_EQ(render(R"({{ reReplaceAll "(a|aa)*:[0-9]+$" "x" .Text }})", long_text), "x");
  EXPECT_EQ(render(R"({{ reReplaceAll "a**" "b" "aa" }})"),
            "RENDER ERROR: 1:4: error calling reReplaceAll: bad regex \"a**\": bad repetition operator: **");
}

TEST(Template, AlertmanagerMethods) {
  EXPECT_EQ(render("{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}"),
            "alertname=HighLoad instance=h1 service=api ");
  // alertname first, as Alertmanager's KV.SortedPairs does.
  EXPECT_EQ(render("{{ .Labels.Names }} {{ .Labels.Values | join \",\" }}"),
            "[alertname instance service] HighLoad,h1,api");
  EXPECT_EQ(render("{{ .Labels.SortedPairs.Values | join \" \" }}"), "HighLoad h1 api");
  EXPECT_EQ(render("{{ (.Labels.Remove (stringSlice \"instance\" \"alertname\")).Names }}"), "[service]");
  EXPECT_EQ(render("{{ .Labels.Remove .Labels.Names | len }}"), "0");
  EXPECT_EQ(render("{{ .Alerts.Firing | len }}/{{ len .Alerts.Resolved }}"), "2/1");
  EXPECT_EQ(render("{{ range .Alerts.Resolved }}{{ .Labels.instance }}{{ end }}"), "h2");
}

TEST(Template, TrimMarkersAndComments) {
  EXPECT_EQ(render("a  \n {{- .Status -}} \n\t b"), "afiringb");
  EXPECT_EQ(render("a {{- \" x \" }} b"), "a x  b");
  EXPECT_EQ(render("{{ range .Names -}}\n  {{ . }}\n{{- end }}"), "abc");
  EXPECT_EQ(render("x{{/* a comment */}}y"), "xy");
  EXPECT_EQ(render("x \n{{- /* trimmed */ -}}\n y"), "xy");
  EXPECT_EQ(render("{{ -3 }}"), "-3");  // no space after '-': a number, not a trim marker
}

TEST(Template, ParseErrorsSayWhereAndWhat) {
  EXPECT_EQ(parse_error("{{ .Status | toUppr }}"), "1:14: function \"toUppr\" not defined");
  EXPECT_EQ(parse_error("ok\n  {{ if .X }}open"), "2:6: {{if}} has no matching {{end}}");
  EXPECT_EQ(parse_error("{{ .X }"), "1:7: expected \"}}\" to close the action at 1:1");
  EXPECT_EQ(parse_error("{{ .X "), "1:1: unclosed action: expected \"}}\"");
  EXPECT_EQ(parse_error("{{ end }}"), "1:4: unexpected {{end}}");
  EXPECT_EQ(parse_error("{{ else }}"), "1:4: unexpected {{else}}");
  EXPECT_EQ(parse_error("{{ $y }}"), "1:4: undefined variable $y");
  EXPECT_EQ(parse_error("{{ range .A }}{{ $x := 1 }}{{ end }}{{ $x }}"), "1:40: undefined variable $x");
  EXPECT_EQ(parse_error("{{ if }}{{ end }}"), "1:7: expected a value for if, found \"}}\"");
  EXPECT_EQ(parse_error("{{ .A | }}"), "1:9: expected a value for command, found \"}}\"");
  EXPECT_EQ(parse_error("{{ (.A }}"), "1:8: expected \")\", found \"}}\"");
  EXPECT_EQ(parse_error("{{ \"abc }}"), "1:4: unterminated quoted string");
  EXPECT_EQ(parse_error("{{ .A .B) }}"), "1:9: expected \"}}\" after the pipeline, found \")\"");
  EXPECT_EQ(parse_error("{{ if .A }}{{ else }}{{ else }}{{ end }}"),
            "1:25: expected {{end}}, found a second {{else}} for the {{if}}");
  EXPECT_EQ(parse_error("{{ template \"x\" }}"), "1:4: {{template}} is not supported");
  EXPECT_EQ(parse_error("{{ /* not at the start */ }}"), "1:4: unexpected character \"/\" in action");
  EXPECT_EQ(parse_error("{{/* open"), "1:1: unclosed comment");
  EXPECT_EQ(parse_error("{{ 12ab }}"), "1:4: bad number syntax: \"12ab\"");
  EXPECT_EQ(parse_error("{{ \"a\".B }}"), "1:7: unexpected \".B\" after string \"a\"");
  auto e = Template::parse("\n\n   {{ nope }}").error();
  EXPECT_EQ(e.code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.position().line, 3);
  EXPECT_EQ(e.position().column, 7);
}

TEST(Template, ExecutionErrorsAreValues) {
  EXPECT_EQ(render_error("{{ index .Count 1 }}"), "1:4: error calling index: cannot index a number");
  EXPECT_EQ(render_error("{{ index .Names 5 }}"), "1:4: error calling index: index out of range: 5");
  EXPECT_EQ(render_error("{{ .Status.Foo }}"), "1:4: can't evaluate field Foo in a string");
  EXPECT_EQ(render_error("{{ eq .Status 1 }}"),
            "1:4: error calling eq: incompatible types for comparison: string and number");
  EXPECT_EQ(render_error("{{ range .Status }}{{ end }}"), "1:4: range can't iterate over a string");
  EXPECT_EQ(render_error("{{ len }}"), "1:4: wrong number of arguments for len: 0");
  EXPECT_EQ(render_error("{{ .Status 1 }}"), "1:4: Status is not a method but has arguments");
  EXPECT_EQ(render_error("{{ \"x\" 1 }}"), "1:4: can't give an argument to a non-function");
  EXPECT_EQ(render_error("{{ reReplaceAll \"(\" \"\" .Status }}"),
            "1:4: error calling reReplaceAll: bad regex \"(\": missing ): (");
}

TEST(Template, ParsesOnceRendersMany) {
  auto t = Template::parse("{{ .N }}");
  ASSERT_TRUE(t.has_value());
  const Template copy = *t;  // shares the tree
  EXPECT_EQ(*t->render(Map{{"N", 1}}), "1");
  EXPECT_EQ(*copy.render(Map{{"N", 2}}), "2");
  EXPECT_EQ(*Template().render(Map{}), "");
}

TEST(Template, AlertmanagerStyleTemplateOverATwoAlertGroup) {
  const TemplateValue data = Map{
      {"Receiver", "ops"},
      {"Status", "firing"},
      {"Alerts", TemplateValue(List{alert("firing", {{"alertname", "HighLoad"}, {"instance", "h1"}, {"service", "api"}},
                                          {{"summary", "load 0.97 on h1"}}),
                                    alert("firing", {{"alertname", "HighLoad"}, {"instance", "h2"}, {"service", "api"}},
                                          {{"summary", "load 0.93 on h2"}})},
                               Methods::kAlerts)},
      {"GroupLabels", TemplateValue::kv(core::Labels{{"alertname", "HighLoad"}})},
      {"CommonLabels", TemplateValue::kv(core::Labels{{"alertname", "HighLoad"}, {"service", "api"}})},
      {"CommonAnnotations", TemplateValue::kv(std::map<std::string, std::string>{})},
      {"ExternalURL", "http://tocsin.example"},
  };
  // Alertmanager's default subject ("__subject" in default.tmpl), then a list of the alerts.
  const std::string_view am =
      R"([{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] )"
      R"({{ .GroupLabels.SortedPairs.Values | join " " }} )"
      R"({{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }})"
      R"({{ .Values | join " " }}{{ end }}){{ end }}
{{ range $i, $a := .Alerts -}}
{{ $i }}. {{ $a.Annotations.summary }} ({{ $a.Labels.instance }}) {{ if eq $a.Status "firing" }}🔥{{ end }}
{{ end -}}
{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }})";
  EXPECT_EQ(render(am, data),
            "[FIRING:2] HighLoad (api)\n"
            "0. load 0.97 on h1 (h1) 🔥\n"
            "1. load 0.93 on h2 (h2) 🔥\n"
            "http://tocsin.example/#/alerts?receiver=ops");
}

}  // namespace
}  // namespace tocsin::notify
