// The tocsin command line (SPEC §2). Parsing only: the work is in commands.cc and demo.cc.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>

#include "cli/backup_command.h"
#include "cli/bayes_command.h"
#include "cli/commands.h"
#include "cli/detect_command.h"
#include "cli/drill_command.h"
#include "cli/report_command.h"
#include "cli/drill_live_command.h"
#include "cli/migrate_command.h"
#include "cli/risk_history_command.h"
#include "cli/risk_register_command.h"
#include "cli/risk_command.h"

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tocsin: early warning, incident response and learning, in one binary"};
  app.set_version_flag("--version", std::string("tocsin ") + TOCSIN_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;

  std::string init_dir;
  auto* init = app.add_subcommand("init", "Write a commented starter config (people, schedule, escalation, rules, plans) into DIR");
  init->add_option("DIR", init_dir, "Directory to write tocsin.yaml and plans/ into")->required();
  init->callback([&] { exit_code = tocsin::cli::run_init(init_dir); });

  std::string check_file;
  auto* check = app.add_subcommand("check-config", "Validate a config; exit 0, or print FILE:LINE: error and exit 1");
  check->add_option("FILE", check_file, "The tocsin.yaml to check")->required();
  check->callback([&] { exit_code = tocsin::cli::run_check_config(check_file); });

  std::string serve_config, serve_listen, serve_simulated_clock;
  auto* serve = app.add_subcommand("serve", "Run the server (its store: server.store, or SQLite under server.data_dir)");
  serve->add_option("--config", serve_config, "The tocsin.yaml to run")->required();
  serve->add_option("--listen", serve_listen, "Override server.listen (host:port)");
  serve->add_option("--simulated-clock", serve_simulated_clock,
                    "Tests and drills only: run on a simulated clock starting at START (RFC 3339), moved only by "
                    "POST /api/v1/clock/advance")
      ->option_text("START");
  serve->callback([&] { exit_code = tocsin::cli::run_serve(serve_config, serve_listen, serve_simulated_clock); });

  tocsin::cli::DemoOptions demo_options;
  auto* demo = app.add_subcommand("demo", "A self-contained running demo: the shipped drills (system crash, data breach, "
                                          "network attack) played one after another against a server on a fast "
                                          "simulated clock, scored and recorded — the whole loop visible through the API");
  demo->add_option("--speed", demo_options.speed,
                   "Simulated seconds per wall second (1 = real time; at the default 150 the first incident opens 12 s in and the first drill is resolved and scored within a minute)")
      ->capture_default_str();
  demo->add_option("--listen", demo_options.listen, "Address of the demo server")->capture_default_str();
  demo->add_option("--pager", demo_options.pager,
                   "Address of the demo's pager, which prints the pages (written into a new demo config)")
      ->capture_default_str();
  demo->add_option("--dir", demo_options.dir, "Where the demo writes its starter config and data")->capture_default_str();
  demo->callback([&] { exit_code = tocsin::cli::run_demo(demo_options); });

  tocsin::cli::DetectCommand det;
  auto* detect = app.add_subcommand("detect", "Offline scoring: stream a timestamp,value CSV through a detector and "
                                              "write timestamp,value,anomaly_score");
  detect->add_option("--detector", det.detector, "Detector kind (threshold, sigma, ewma, mad, absent, …)")->required();
  detect->add_option("--param", det.params, "Detector parameter NAME=VALUE (repeatable), e.g. --param n=3");
  detect->add_option("--input", det.input, "Input CSV with a header line and columns timestamp,value")->required();
  detect->add_option("--output", det.output, "Output CSV (default: stdout)");
  detect->add_option("--plot", det.plot, "Also draw the series, bounds, firing spans and score as an SVG file");
  detect->callback([&] { exit_code = tocsin::cli::run_detect(det); });
  auto* risk = app.add_subcommand("risk", "Risk models trained on past incidents");
  risk->require_subcommand(1);
  tocsin::cli::RiskTrainCommand rt;
  auto* rtrain = risk->add_subcommand("train", "Clean a CSV of past incidents and train a model on it (naive Bayes or a "
                                               "CART tree), written as versioned JSON");
  rtrain->add_option("--data", rt.data, "CSV with a header line: feature columns and the label column")->required();
  rtrain->add_option("--label", rt.label, "The column to predict")->required();
  rtrain->add_option("--out", rt.out, "Where to write the model (JSON)")->required();
  rtrain->add_option("--model", rt.model, "nb (Gaussian/categorical naive Bayes) or tree (CART)")
      ->check(CLI::IsMember({"nb", "tree"}))->capture_default_str();
  rtrain->add_option("--max-depth", rt.max_depth, "Tree: maximum depth (0: unlimited)")->capture_default_str();
  rtrain->add_option("--min-samples-leaf", rt.min_samples_leaf, "Tree: fewest training rows in a leaf")->capture_default_str();
  rtrain->add_option("--criterion", rt.criterion, "Tree: gini or entropy")->check(CLI::IsMember({"gini", "entropy"}))->capture_default_str();
  rtrain->add_option("--var-smoothing", rt.var_smoothing, "Naive Bayes: variance smoothing (sklearn's var_smoothing)")->capture_default_str();
  rtrain->add_option("--prior", rt.priors, "Naive Bayes: CLASS=PROBABILITY for every class, instead of the class frequencies");
  rtrain->add_option("--categorical", rt.categorical, "Read COLUMN as categories even if it looks numeric (repeatable)");
  rtrain->add_option("--ignore", rt.ignore, "Leave COLUMN out of the features (repeatable)");
  rtrain->add_option("--missing", rt.missing, "Missing values: drop the row, or impute mean|median|mode")
      ->check(CLI::IsMember({"drop", "mean", "median", "mode"}))->capture_default_str();
  rtrain->add_option("--impute", rt.impute, "Per column missing-value policy COLUMN=drop|mean|median|mode (repeatable)");
  rtrain->add_flag("--drop-duplicates", rt.drop_duplicates, "Drop repeated rows (they are always counted)");
  rtrain->add_flag("--drop-outliers", rt.drop_outliers, "Drop rows with a robust z-score above 3.5 (always flagged)");
  rtrain->add_flag("--standardize", rt.standardize, "Scale numeric features to mean 0, standard deviation 1");
  rtrain->add_option("--test-fraction", rt.test_fraction, "Hold out this stratified fraction and report on it");
  rtrain->add_option("--cv", rt.cv, "Report K-fold stratified cross-validation accuracy first");
  rtrain->add_option("--seed", rt.seed, "Seed of the split and the folds")->capture_default_str();
  rtrain->add_flag("--rules", rt.rules, "Print the model: a tree as rules, naive Bayes as per-class statistics");
  rtrain->add_option("--plot", rt.plot, "Also write the decision regions over two numeric features of the training rows as an SVG file");
  rtrain->add_option("--plot-features", rt.plot_features, "X,Y: the features of --plot (default: the first two numeric features)");
  rtrain->callback([&] { exit_code = tocsin::cli::run_risk_train(rt); });
  tocsin::cli::RiskPredictCommand rp;
  auto* rpredict = risk->add_subcommand("predict", "Predict each row of a CSV: columns predicted, p_<class>…");
  rpredict->add_option("--model", rp.model, "A model written by `tocsin risk train`")->required();
  rpredict->add_option("--data", rp.data, "CSV with the model's feature columns (others are ignored)")->required();
  rpredict->add_option("--output", rp.output, "Output CSV (default: stdout)");
  rpredict->callback([&] { exit_code = tocsin::cli::run_risk_predict(rp); });
  tocsin::cli::RiskEvalCommand re;
  auto* reval = risk->add_subcommand("eval", "Evaluate a model on labelled data: accuracy, per-class precision, recall, "
                                             "F1, confusion matrix");
  reval->add_option("--model", re.model, "A model written by `tocsin risk train`")->required();
  reval->add_option("--data", re.data, "CSV with the model's feature columns and the label column")->required();
  reval->add_option("--label", re.label, "The column with the true class")->required();
  reval->add_option("--plot", re.plot, "Also write the confusion matrix as an SVG file");
  reval->callback([&] { exit_code = tocsin::cli::run_risk_eval(re); });
  tocsin::cli::RiskRegisterCommand reg;
  auto* risk_register = risk->add_subcommand("register", "The risk register: score (likelihood × impact), level and "
                                                         "review of each risk in the config, highest first");
  risk_register->add_option("--config", reg.config, "The tocsin.yaml with a risks: section")->required();
  risk_register->add_flag("--json", reg.json, "Print the JSON of GET /api/v1/risk");
  risk_register->add_option("--plot", reg.plot, "Also write the risk heat map as an SVG file");
  risk_register->callback([&] { exit_code = tocsin::cli::run_risk_register(reg); });
  tocsin::cli::RiskHistoryCommand hist;
  auto* risk_history = risk->add_subcommand(
      "history", "tocsin's own incident history as a CSV to train on (label column: incident_type)");
  risk_history->add_option("--config", hist.config, "The tocsin.yaml whose data_dir holds the store")->required();
  risk_history->add_option("--out", hist.out, "Output CSV (default: stdout)");
  risk_history->callback([&] { exit_code = tocsin::cli::run_risk_history(hist); });
  auto* bayes = app.add_subcommand("bayes", "Bayesian networks");
  bayes->require_subcommand(1);
  tocsin::cli::BayesQueryCommand bq;
  auto* bayes_query = bayes->add_subcommand("query", "Posterior distribution and MAP state of NODE given evidence "
                                                     "(exact, by variable elimination), or the joint MAP of several "
                                                     "nodes (--map) or of all (--mpe)");
  bayes_query->add_option("--net", bq.net, "The network (YAML: nodes, states, parents, cpt)")->required();
  bayes_query->add_option("--query", bq.query, "The node whose posterior to print");
  bayes_query->add_option("--map", bq.map, "Nodes N1,N2,… whose most probable joint state to print, the other "
                                           "unobserved nodes summed out (repeatable)");
  bayes_query->add_flag("--mpe", bq.mpe, "The most probable explanation: the joint MAP of every node not in the evidence");
  bayes_query->add_option("--evidence", bq.evidence, "Observed states N=v,M=w (repeatable)");
  bayes_query->add_flag("--json", bq.json, "Print JSON: query, evidence, posterior, map, evidence_probability");
  bayes_query->callback([&] { exit_code = tocsin::cli::run_bayes_query(bq); });
  tocsin::cli::BayesLearnCommand bl;
  auto* bayes_learn = bayes->add_subcommand("learn", "Learn the CPTs of a network structure from a CSV by counting, "
                                                     "with Laplace smoothing");
  bayes_learn->add_option("--net", bl.net, "The structure (nodes, states, parents; CPTs optional, replaced)")->required();
  bayes_learn->add_option("--data", bl.data, "CSV with a header line; one column per node, values are states")->required();
  bayes_learn->add_option("--out", bl.out, "Where to write the network with learnt CPTs")->required();
  bayes_learn->add_option("--alpha", bl.alpha, "Laplace pseudo-count per CPT cell (0: maximum likelihood)")
      ->capture_default_str();
  bayes_learn->callback([&] { exit_code = tocsin::cli::run_bayes_learn(bl); });
  auto* drill = app.add_subcommand("drill", "Drills: simulated, or live against a running server");
  drill->require_subcommand(1);
  tocsin::cli::DrillRunCommand dr;
  bool drill_live = false;
  tocsin::cli::DrillLiveCommand dl;
  dl.server = env_or("TOCSIN_SERVER", "");
  dl.token = env_or("TOCSIN_TOKEN", "");
  dl.ca_file = env_or("TOCSIN_CACERT", "");
  dl.actor = env_or("USER", "cli");
  auto* drill_run = drill->add_subcommand("run", "Run a drill scenario through the real pipeline on a simulated clock, "
                                                 "with simulated responders, and print its scorecard; with --live, "
                                                 "play it in real time against a running server");
  drill_run->add_option("SCENARIO", dr.scenario, "The scenario file (YAML, see docs/drills.md)")->required();
  drill_run->add_option("--config", dr.config, "The tocsin.yaml whose rules, plans, people and escalation are drilled "
                                               "(required unless --live; with --live, the scenario is checked against it "
                                               "too)");
  drill_run->add_flag("--json", dr.json, "Print the scorecard as JSON (the same bytes for the same scenario and seed)");
  drill_run->add_option("--seed", dr.seed, "Override the scenario's seed");
  drill_run->add_flag("!--no-record", dr.record,
                      "Do not store the run in the drill history (the store under the config's server.data_dir)");
  drill_run->add_flag("--live", drill_live, "Play the scenario in real time against the running server at --server, "
                                            "which pages real people and scores the drill");
  drill_run->add_option("--server", dl.server, "Live: the server's URL (env TOCSIN_SERVER)");
  drill_run->add_option("--token", dl.token, "Live: API token (env TOCSIN_TOKEN)");
  drill_run->add_option("--cacert", dl.ca_file,
                        "Live: PEM file of the CAs to verify an https:// server with (env TOCSIN_CACERT)");
  drill_run->callback([&] {
    if (drill_live) {
      dl.scenario = dr.scenario;
      dl.config = dr.config;
      dl.json = dr.json;
      dl.seed = dr.seed;
      exit_code = tocsin::cli::run_drill_live(dl);
    } else if (dr.config.empty()) {
      fmt::print(stderr, "tocsin drill run: --config FILE is required (or --live --server URL)\n");
      exit_code = 1;
    } else {
      exit_code = tocsin::cli::run_drill_run(dr);
    }
  });
  auto* report = app.add_subcommand("report", "KPIs, postmortems, the audit log and compliance status");
  report->require_subcommand(1);
  tocsin::cli::KpiCommand kc;
  auto* kpi = report->add_subcommand(
      "kpi", "Print the KPIs (MTTA, MTTR, MTBF, resolution, on-time steps, escalations, drills) from the config's store");
  kpi->add_option("--config", kc.config, "The tocsin.yaml whose store (server.data_dir) holds the incidents")->required();
  kpi->add_option("--since", kc.since, "Start of the window: RFC 3339, or a duration back from --until (default 30d)");
  kpi->add_option("--until", kc.until, "End of the window, RFC 3339 (default now)");
  kpi->add_option("--by", kc.by, "Group by plan, service or severity");
  kpi->add_option("--period", kc.period, "Trend buckets: day, week (ISO, UTC) or month (default week)");
  kpi->add_option("--scope", kc.scope, "Which incidents: real (default), drills, or all");
  kpi->add_flag("--json", kc.json, "Print the JSON of GET /api/v1/kpi");
  kpi->callback([&] { exit_code = tocsin::cli::run_report_kpi(kc); });
  tocsin::cli::PostmortemCommand pmc;
  auto* postmortem = report->add_subcommand(
      "postmortem", "Print the postmortem draft of an incident from the config's store (Markdown or HTML)");
  postmortem->add_option("ID", pmc.id, "Incident id")->required();
  postmortem->add_option("--config", pmc.config, "The tocsin.yaml whose store (server.data_dir) holds the incident")
      ->required();
  postmortem->add_option("--format", pmc.format, "md or html")->capture_default_str()->check(CLI::IsMember({"md", "html"}));
  postmortem->callback([&] { exit_code = tocsin::cli::run_report_postmortem(pmc); });
  tocsin::cli::AuditCommand audit;
  auto* audit_cmd = report->add_subcommand(
      "audit", "Print the audit log (who changed what, when) from the config's store, oldest first");
  audit_cmd->add_option("--config", audit.config, "The tocsin.yaml whose store (server.data_dir) holds the log")
      ->required();
  audit_cmd->add_option("--since", audit.since, "From this time: RFC 3339, or a duration back from now like 7d");
  audit_cmd->add_option("--until", audit.until, "Before this time: RFC 3339, or a duration back from now");
  audit_cmd->add_option("--actor", audit.actor, "Only this actor");
  audit_cmd->add_option("--action", audit.action, "Only actions starting with this, e.g. incident. or silence.expire");
  audit_cmd->add_flag("--csv", audit.csv, "RFC 4180 CSV with the header id,at,actor,action,object,detail,source");
  audit_cmd->callback([&] { exit_code = tocsin::cli::run_report_audit(audit); });
  tocsin::cli::ComplianceCommand compliance;
  auto* compliance_cmd = report->add_subcommand(
      "compliance",
      "Plan reviews and drills overdue, plan clocks met, missed or running, from the config and its store");
  compliance_cmd->add_option("--config", compliance.config, "The tocsin.yaml whose store (server.data_dir) to read")
      ->required();
  compliance_cmd->add_flag("--json", compliance.json, "Print GET /api/v1/compliance's JSON");
  compliance_cmd->callback([&] { exit_code = tocsin::cli::run_report_compliance(compliance); });
  tocsin::cli::ActionItemsCommand aic;
  auto* action_items = report->add_subcommand(
      "action-items", "List postmortem action items across incidents from the config's store (open ones by default)");
  action_items->add_option("--config", aic.config, "The tocsin.yaml whose store (server.data_dir) holds them")->required();
  action_items->add_option("--status", aic.status, "open, done or all")
      ->capture_default_str()
      ->check(CLI::IsMember({"open", "done", "all"}));
  action_items->add_option("--owner", aic.owner, "Only this person's items");
  action_items->add_flag("--overdue", aic.overdue, "Only open items past their due time");
  action_items->add_flag("--json", aic.json, "Print what GET /api/v1/action-items answers");
  action_items->callback([&] { exit_code = tocsin::cli::run_report_action_items(aic); });

  tocsin::cli::BackupCommand backup;
  auto* backup_cmd = app.add_subcommand(
      "backup", "Copy a server's store (and its ack key and detector snapshots) into a new directory; safe while it runs");
  backup_cmd->add_option("--config", backup.config, "The tocsin.yaml whose server.data_dir to back up")->required();
  backup_cmd->add_option("--out", backup.out, "A new (or empty) directory for the backup")->required();
  backup_cmd->callback([&] { exit_code = tocsin::cli::run_backup(backup); });

  tocsin::cli::MigrateCommand migrate;
  auto* migrate_cmd = app.add_subcommand(
      "migrate", "Bring the store's schema to this version and exit (before a rolling upgrade), or with "
                 "--from-sqlite move an embedded SQLite store into the PostgreSQL store of server.store");
  migrate_cmd->add_option("--config", migrate.config, "The tocsin.yaml whose store to migrate")->required();
  migrate_cmd->add_option("--from-sqlite", migrate.from_sqlite,
                          "A SQLite store file (data_dir/tocsin.db, or the data_dir) to copy into server.store, "
                          "which must be empty; the file is only read")
      ->option_text("PATH");
  migrate_cmd->callback([&] { exit_code = tocsin::cli::run_migrate(migrate); });

  tocsin::cli::IncidentCommand inc;
  inc.server = env_or("TOCSIN_SERVER", "http://127.0.0.1:8470");
  inc.token = env_or("TOCSIN_TOKEN", "");
  inc.ca_file = env_or("TOCSIN_CACERT", "");
  inc.actor = env_or("USER", "cli");
  auto* incident = app.add_subcommand("incident", "List, show, acknowledge and resolve incidents on a running server");
  incident->require_subcommand(1);
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("--server", inc.server, "Server URL (env TOCSIN_SERVER)")->capture_default_str();
    cmd->add_option("--token", inc.token, "API token (env TOCSIN_TOKEN)");
    cmd->add_option("--cacert", inc.ca_file,
                    "PEM file of the CAs to verify an https:// server with, instead of the system's (env TOCSIN_CACERT)");
    cmd->add_flag("--json", inc.json, "Print the server's JSON");
  };
  auto* list = incident->add_subcommand("list", "List incidents, newest first");
  add_common(list);
  list->add_option("--status", inc.status, "Only incidents in this status");
  list->callback([&] { inc.action = "list"; exit_code = tocsin::cli::run_incident(inc); });
  for (const char* action : {"show", "ack", "resolve"}) {
    auto* cmd = incident->add_subcommand(action, std::string(action) == "show" ? "Show one incident with its timeline"
                                                 : std::string(action) == "ack" ? "Acknowledge an incident"
                                                                                : "Resolve an incident");
    add_common(cmd);
    cmd->add_option("ID", inc.id, "Incident id")->required();
    if (std::string(action) != "show") cmd->add_option("--actor", inc.actor, "Who is acting (default: $USER)");
    cmd->callback([&, action] { inc.action = action; exit_code = tocsin::cli::run_incident(inc); });
  }

  tocsin::cli::OnCallCommand oc;
  oc.server = inc.server;
  oc.token = inc.token;
  oc.ca_file = inc.ca_file;
  auto* oncall = app.add_subcommand("oncall", "Who is on call, per schedule, on a running server");
  oncall->add_option("--server", oc.server, "Server URL (env TOCSIN_SERVER)")->capture_default_str();
  oncall->add_option("--token", oc.token, "API token (env TOCSIN_TOKEN)");
  oncall->add_option("--cacert", oc.ca_file,
                     "PEM file of the CAs to verify an https:// server with, instead of the system's (env TOCSIN_CACERT)");
  oncall->add_option("--at", oc.at, "Ask about another moment (RFC 3339, e.g. 2026-12-24T09:00:00+08:00)");
  oncall->add_option("--schedule", oc.schedule, "Only this schedule");
  oncall->add_flag("--json", oc.json, "Print the server's JSON");
  oncall->callback([&] { exit_code = tocsin::cli::run_oncall(oc); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "tocsin: {}\n", e.what());
    return 1;
  }
  return exit_code;
}
