// Notification templates: a subset of Go's text/template, enough for Alertmanager-style title and
// body templates (docs/notifications.md lists what is supported).
//
//   auto t = Template::parse("[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}");  // once
//   auto text = t->render(template_data(message));                                       // per flush
//
// A template is parsed once into a tree; a parse error (bad syntax, unknown function, undefined
// variable) names its line:column and what was expected. Rendering walks the tree over a
// TemplateValue; an execution error (index on a number, comparing a string with a number, a bad
// regex) is returned as an Error, never thrown.
//
// Differences from Go worth knowing: a missing map key is null and renders as "" (Alertmanager's
// maps are map[string]string, whose missing keys are ""); null compares equal to "", 0 and false,
// and a field of null is null; there are no `define`/`template`/`block`, `break`/`continue`, and
// toUpper/toLower/title map ASCII letters only.
//
// Thread-safety: TemplateValue and Template are immutable values; render() may run concurrently
// on one Template. Copies share their tree and their list/map contents.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/labels.h"
#include "core/result.h"

namespace tocsin::notify {

// The data a template sees: null, bool, number, string, list, or map with sorted string keys.
class TemplateValue {
 public:
  using List = std::vector<TemplateValue>;
  using Map = std::map<std::string, TemplateValue, std::less<>>;
  enum class Kind { kNull, kBool, kNumber, kString, kList, kMap };

  // Alertmanager's template types have methods that templates call like fields
  // (`.Labels.SortedPairs`, `.Alerts.Firing`). A list or map says which set it carries; the
  // methods are looked up before map keys, as Go looks up methods before fields.
  enum class Methods {
    kNone,
    kKV,      // map of strings (labels, annotations): SortedPairs, Names, Values, Remove NAMES
    kPairs,   // list of {Name, Value} maps: Names, Values
    kAlerts,  // list of alert maps with a "Status" key: Firing, Resolved
  };

  // Implicit on purpose, so data reads like literals: Map{{"Status", "firing"}, {"Count", 2}}.
  TemplateValue() = default;
  TemplateValue(std::nullptr_t) {}
  TemplateValue(bool value) : data_(value) {}
  template <class T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) TemplateValue(T value)
      : data_(static_cast<double>(value)) {}
  TemplateValue(std::string value) : data_(std::move(value)) {}
  TemplateValue(std::string_view value) : data_(std::string(value)) {}
  TemplateValue(const char* value) : data_(std::string(value)) {}
  TemplateValue(List list, Methods methods = Methods::kNone);
  TemplateValue(Map map, Methods methods = Methods::kNone);

  // A label set or annotation map as an Alertmanager KV (with SortedPairs, Names, Values, Remove).
  static TemplateValue kv(const core::Labels& labels);
  static TemplateValue kv(const std::map<std::string, std::string>& pairs);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  Methods methods() const { return methods_; }
  bool is_null() const { return kind() == Kind::kNull; }

  // Accessors; each requires the matching kind().
  bool as_bool() const { return std::get<bool>(data_); }
  double as_number() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const List& as_list() const { return *std::get<std::shared_ptr<const List>>(data_); }
  const Map& as_map() const { return *std::get<std::shared_ptr<const Map>>(data_); }

  // The value under `key` of a map; nullptr when this is not a map or has no such key.
  const TemplateValue* find(std::string_view key) const;

  // Go's truth: false, 0, "", null and empty lists and maps are false.
  bool truthy() const;

  // As `{{ . }}` prints it: "" for null, integers without a fraction, lists as [a b], maps as
  // map[k:v k2:v2].
  std::string to_string() const;

 private:
  // The variant's alternatives are in Kind's order.
  std::variant<std::monostate, bool, double, std::string, std::shared_ptr<const List>, std::shared_ptr<const Map>>
      data_;
  Methods methods_ = Methods::kNone;
};

class Template {
 public:
  Template();  // renders ""

  // Parses `text`. Errors are invalid_argument with a message "LINE:COLUMN: what went wrong" and
  // the same line and column in Error::position().
  static core::Result<Template> parse(std::string_view text);

  core::Result<std::string> render(const TemplateValue& data) const;

  struct Tree;  // defined in template.cc

 private:
  explicit Template(std::shared_ptr<const Tree> tree) : tree_(std::move(tree)) {}
  std::shared_ptr<const Tree> tree_;
};

// Go's url.QueryEscape (the `urlquery` function): letters, digits and -_.~ stay, ' ' becomes '+',
// every other byte %XX.
std::string url_query_escape(std::string_view text);

}  // namespace tocsin::notify
