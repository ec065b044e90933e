// The risk-model routes over a real config with a real trained model: the list, the pictures
// from the configured data and from a POSTed CSV, and every error as a status with a clear message.
#include "api/risk_models.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "config/loader.h"
#include "risk/model.h"
#include "risk/plots.h"
#include "test_support/temp_dir.h"
#include "test_support/xml_check.h"

namespace tocsin::api {
namespace {

using nlohmann::json;
using test_support::attr;
using test_support::parse_xml;

// Two clusters in (load, errors) with a third numeric feature and a categorical one.
std::string incidents_csv() {
  std::string csv = "load,errors,hour,service,severity\n";
  for (int i = 0; i < 20; ++i) {
    const double d = (i % 5) * 0.2, e = (i / 5) * 0.2;
    csv += fmt::format("{},{},{},api,low\n", 1 + d, 1 + e, i % 24);
    csv += fmt::format("{},{},{},db,high\n", 8 + d, 9 + e, (i * 7) % 24);
  }
  csv += "8.5,9.5,3,db,low\n";  // one the model gets wrong: a "low" deep in the "high" cluster
  return csv;
}

class RiskModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("data/incidents.csv", incidents_csv());
    std::istringstream in(incidents_csv());
    const risk::Table table = risk::read_csv(in, {"incidents.csv", {{"severity", risk::ColumnKind::kCategorical}}}).value();
    risk::Model model;
    model.schema = risk::schema_of(table, "severity").value();
    model.classifier = risk::fit(risk::encode(table, model.schema, true).value(), model.schema, {}).value();
    std::filesystem::create_directories(dir_.path() / "models");
    auto saved = risk::save_model(model, (dir_.path() / "models/crash.json").string());
    ASSERT_TRUE(saved) << saved.error().to_string();
    dir_.write("other/crash.json", "{\"format\": \"something else\"}");
    config_ = config::load_config_string(R"(people: [{id: alice}]
risks:
  - {id: overload, title: Overload, impact: 4, owner: alice, review: 2027-01-01,
     likelihood_from: {model: models/crash.json, class: high, data: data/incidents.csv}}
  - {id: overload-db, title: DB overload, impact: 3, owner: alice, review: 2027-01-01,
     likelihood_from: {model: models/crash.json, class: high}}
  - {id: broken, title: Broken model, impact: 2, owner: alice, review: 2027-01-01,
     likelihood_from: {model: other/crash.json, class: high}}
  - {id: cert, title: Certificate, likelihood: 0.5, impact: 2, owner: alice, review: 2027-06-01}
)",
                                         "t.yaml", dir_.path())
                  .value();
  }

  http::Response call(std::string method, std::string path, std::string body = "",
                      std::map<std::string, std::string> query = {}) {
    http::Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    r.query = std::move(query);
    EXPECT_TRUE(r.path.starts_with("/api/v1/risk/models"));
    return risk_models_route(config_, r, std::string_view(r.path).substr(19));
  }

  test_support::TempDir dir_;
  config::Config config_;
};

TEST_F(RiskModelsTest, ListsEachModelFileOnceWithItsRisksAndSchema) {
  const auto r = call("GET", "/api/v1/risk/models");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  ASSERT_EQ(body["models"].size(), 2u);
  const json& crash = body["models"][0];
  EXPECT_EQ(crash["name"], "crash");
  EXPECT_EQ(crash["risks"], json::array({"overload", "overload-db"}));
  EXPECT_EQ(crash["kind"], "mixed_nb");
  EXPECT_EQ(crash["label"], "severity");
  EXPECT_EQ(crash["classes"], json::array({"high", "low"}));
  EXPECT_EQ(crash["features"][0], json({{"name", "load"}, {"type", "numeric"}}));
  EXPECT_EQ(crash["features"][3]["categories"], json::array({"api", "db"}));
  EXPECT_EQ(crash["data"], (dir_.path() / "data/incidents.csv").string());
  EXPECT_EQ(crash["live"], false);
  EXPECT_EQ(crash["pictures"]["regions"], "/api/v1/risk/models/crash/regions.svg");
  EXPECT_FALSE(crash.contains("error"));
  // The second file with the stem "crash" is crash-2; it cannot be read, and says so.
  const json& broken = body["models"][1];
  EXPECT_EQ(broken["name"], "crash-2");
  EXPECT_EQ(broken["data"], nullptr);
  EXPECT_NE(broken["error"].get<std::string>().find("other/crash.json"), std::string::npos) << broken;
  EXPECT_EQ(json::parse(call("GET", "/api/v1/risk/models/crash").body), crash);
  EXPECT_EQ(call("POST", "/api/v1/risk/models").status, 405);
}

TEST_F(RiskModelsTest, RegionsFromTheConfiguredDataAreTheCliPicture) {
  const auto r = call("GET", "/api/v1/risk/models/crash/regions.svg", "", {{"x", "load"}, {"y", "errors"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "image/svg+xml");
  // The same function `tocsin risk train --plot` calls, on the same data: the same bytes.
  const risk::Model model = risk::load_model((dir_.path() / "models/crash.json").string()).value();
  risk::ReadOptions read;
  read.kinds = model.column_kinds();
  const risk::Table data = risk::read_csv_file((dir_.path() / "data/incidents.csv").string(), read).value();
  EXPECT_EQ(r.body, risk::decision_regions_svg(model, data, "load", "errors", "severity").value());
  size_t points = 0;
  for (const auto& e : parse_xml(r.body)) points += e.name == "circle" && !attr(e, "data-class").empty();
  EXPECT_EQ(points, 41u);
  // Without x and y: the first two numeric features, which are load and errors.
  EXPECT_EQ(call("GET", "/api/v1/risk/models/crash/regions.svg").body, r.body);
  // Other axes work too.
  EXPECT_EQ(call("GET", "/api/v1/risk/models/crash/regions.svg", "", {{"x", "hour"}, {"y", "load"}}).status, 200);
}

TEST_F(RiskModelsTest, ConfusionMatrixCountsTheConfiguredData) {
  const auto r = call("GET", "/api/v1/risk/models/crash/confusion.svg");
  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, std::string> counts;  // "true/predicted" → count
  const auto elements = parse_xml(r.body);
  std::string true_cls, predicted;
  for (const auto& e : elements) {
    if (e.name == "rect" && attr(e, "class") == "cell") true_cls = attr(e, "data-true"), predicted = attr(e, "data-predicted");
    if (e.name == "text" && attr(e, "class") == "count") counts[true_cls + "/" + predicted] = e.text;
  }
  // 20 high, 21 low of which the odd one is predicted high.
  EXPECT_EQ(counts["high/high"], "20");
  EXPECT_EQ(counts["low/low"], "20");
  EXPECT_EQ(counts["low/high"], "1");
  EXPECT_EQ(counts["high/low"], "0");
  EXPECT_NE(r.body.find("crash on incidents.csv: accuracy 0.976 (40 of 41)"), std::string::npos);
}

TEST_F(RiskModelsTest, PostedCsvIsDrawnInsteadOfTheConfiguredData) {
  const std::string csv = "severity,load,errors,hour,service\nhigh,8,9,1,db\nlow,1,1,2,api\nlow,9,9,3,db\n";
  const auto r = call("POST", "/api/v1/risk/models/crash/confusion.svg", csv);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("crash on the posted data: accuracy 0.667 (2 of 3)"), std::string::npos);
  // The model without configured data draws a posted CSV too.
  const auto regions = call("POST", "/api/v1/risk/models/crash/regions.svg", csv, {{"x", "load"}, {"y", "errors"}});
  ASSERT_EQ(regions.status, 200) << regions.body;
  size_t points = 0;
  for (const auto& e : parse_xml(regions.body)) points += e.name == "circle" && !attr(e, "data-class").empty();
  EXPECT_EQ(points, 3u);
}

TEST_F(RiskModelsTest, ClearErrors) {
  struct Case {
    std::string method, path, body;
    std::map<std::string, std::string> query;
    int status;
    std::string message, field;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/v1/risk/models/nope/regions.svg", "", {}, 404, "no risk model \"nope\" (models: crash, crash-2)", ""},
      {"GET", "/api/v1/risk/models/crash/heat.svg", "", {}, 404,
       "no picture \"heat.svg\" for model crash: expected regions.svg or confusion.svg", ""},
      {"GET", "/api/v1/risk/models/crash/regions.svg", "", {{"x", "load"}, {"y", "latency"}}, 400,
       "unknown feature \"latency\" (the model's features: load, errors, hour, service)", "y"},
      {"GET", "/api/v1/risk/models/crash/regions.svg", "", {{"x", "service"}, {"y", "load"}}, 400,
       "feature \"service\" is categorical; choose a numeric feature", "x"},
      {"GET", "/api/v1/risk/models/crash/regions.svg", "", {{"x", "load"}}, 400, "give both x and y, or neither", "y"},
      {"GET", "/api/v1/risk/models/crash/regions.svg", "", {{"x", "load"}, {"y", "load"}}, 400,
       "x and y are the same feature; choose two", "y"},
      {"GET", "/api/v1/risk/models/crash/regions.svg", "", {{"z", "load"}}, 400,
       "unknown parameter \"z\": expected x and y (feature names)", "z"},
      {"POST", "/api/v1/risk/models/crash/confusion.svg", "", {}, 400,
       "empty body: POST a CSV with a header line and the columns load, errors, hour, service and severity", ""},
      {"POST", "/api/v1/risk/models/crash/confusion.svg", "load,errors,hour,service,severity\n1,2,3,api\n", {}, 400,
       "body:2: 4 fields, but the header has 5 columns", ""},
      {"POST", "/api/v1/risk/models/crash/confusion.svg", "load,errors,hour,service,severity\n1,x,3,api,low\n", {}, 400,
       "body:2: column 'errors': 'x' is not a number", ""},
      {"POST", "/api/v1/risk/models/crash/confusion.svg", "load,errors,hour,service,severity\n1,2,3,api,sev0\n", {},
       400, "body:2: column 'severity': label 'sev0' was never seen in training", ""},
      {"POST", "/api/v1/risk/models/crash/confusion.svg", "load,errors,hour,service\n1,2,3,api\n", {}, 400,
       "no column 'severity'", ""},
      {"GET", "/api/v1/risk/models/crash-2/confusion.svg", "", {}, 409, "other/crash.json", ""},
      {"DELETE", "/api/v1/risk/models/crash/confusion.svg", "", {}, 405, "use GET, or POST a CSV", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body);
    const auto r = call(c.method, c.path, c.body, c.query);
    EXPECT_EQ(r.status, c.status) << r.body;
    const json body = json::parse(r.body);
    EXPECT_NE(body["error"].get<std::string>().find(c.message), std::string::npos) << body;
    if (!c.field.empty()) {
      EXPECT_EQ(body["field"], c.field);
    }
  }
}

TEST_F(RiskModelsTest, NoDataConfiguredIsANotFoundThatSaysWhatToDo) {
  config_.risks.erase(config_.risks.begin());  // the only risk giving crash.json its data
  const auto r = call("GET", "/api/v1/risk/models/crash/regions.svg");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"],
            "model crash has no data to draw from: add `data: FILE.csv` next to `model:` in tocsin.yaml, or POST the CSV");
  EXPECT_EQ(json::parse(r.body)["field"], "data");
}

}  // namespace
}  // namespace tocsin::api
