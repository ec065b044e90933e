#include "ingest/push.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace tocsin::ingest {

using core::Error;
using nlohmann::json;

namespace {

core::Result<core::Sample> parse_one(const json& item, size_t i, core::Timestamp now) {
  auto bad = [&](std::string_view field, std::string message) {
    return std::unexpected(Error::invalid_argument(std::move(message)).field(fmt::format("[{}]{}", i, field)));
  };
  if (!item.is_object()) return bad("", "expected an object with name, labels, value, ts");
  core::Sample s;
  for (const auto& [key, value] : item.items()) {
    if (key == "name") {
      if (!value.is_string()) return bad(".name", "expected a string");
      const auto& name = value.get_ref<const std::string&>();
      if (!core::is_valid_metric_name(name)) {
        return bad(".name", fmt::format("bad metric name \"{}\": expected [a-zA-Z_:][a-zA-Z0-9_:]*", name));
      }
      s.labels.set("__name__", name);
    } else if (key == "labels") {
      if (!value.is_object()) return bad(".labels", "expected an object of string values");
      for (const auto& [lname, lvalue] : value.items()) {
        if (!core::is_valid_label_name(lname) || lname == "__name__") {
          return bad(".labels", fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*", lname));
        }
        if (!lvalue.is_string()) return bad(fmt::format(".labels.{}", lname), "expected a string");
        s.labels.set(lname, lvalue.get_ref<const std::string&>());
      }
    } else if (key == "value") {
      if (!value.is_number()) return bad(".value", "expected a number");
      s.value = value.get<double>();
      if (!std::isfinite(s.value)) return bad(".value", "expected a finite number");
    } else if (key == "ts") {
      if (!value.is_number_integer()) return bad(".ts", "expected an integer (Unix time in milliseconds)");
      s.ts = core::from_unix_ms(value.get<int64_t>());
    } else {
      return bad("", fmt::format("unknown key \"{}\": expected name, labels, value, ts", key));
    }
  }
  if (!s.labels.get("__name__")) return bad(".name", "missing: every sample needs a metric name");
  if (!item.contains("value")) return bad(".value", "missing: every sample needs a value");
  if (!item.contains("ts")) s.ts = now;
  return s;
}

}  // namespace

core::Result<std::vector<core::Sample>> parse_push_json(std::string_view body, core::Timestamp now) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected(Error::invalid_argument("malformed JSON"));
  if (!doc.is_array()) return std::unexpected(Error::invalid_argument("expected a JSON array of samples"));
  std::vector<core::Sample> out;
  out.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    out.push_back(TOCSIN_TRY(parse_one(doc[i], i, now)));
  }
  return out;
}

}  // namespace tocsin::ingest
