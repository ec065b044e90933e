// copy_from_sqlite (tocsin migrate --from-sqlite) against a throwaway PostgreSQL: a SQLite store
// filled through the Store API with every kind of record reads back the same through the
// PostgreSQL store; ids continue; and every refusal (non-empty target, missing, damaged, newer or
// busy source, schemas that differ, a bad value half-way) leaves the target without a row.
#include "store/postgres/copy_from_sqlite.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/file_io.h"
#include "store/postgres/postgres.h"
#include "store/postgres/migrations.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_conformance_test.h"
#include "test_support/postgres_server.h"
#include "test_support/temp_dir.h"

namespace tocsin::store::postgres {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using ::testing::HasSubstr;

using conformance::at;
using conformance::kTopBitFingerprint;

int64_t ms(Timestamp t) { return core::to_unix_ms(t); }
std::string ms(const std::optional<Timestamp>& t) { return t ? std::to_string(ms(*t)) : "-"; }
template <class T>
std::string opt(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

template <class T>
T must(Result<T> result) {
  EXPECT_TRUE(result.has_value()) << result.error().to_string();
  return result ? std::move(*result) : T{};
}

// Everything the Store API reads back, one line per record, every field: two stores holding the
// same records print the same text.
std::string dump(Store& store) {
  std::string out;
  auto add = [&](const std::string& line) { out += line + "\n"; };
  auto status = store.read([&](Tx& tx) -> Status {
    for (const auto& a : TOCSIN_TRY(tx.list_alerts(std::nullopt))) {
      add(fmt::format("alert {} {} {} {} {} {} {} {} {} {} {} {} {} {}", a.fingerprint, a.rule, a.labels.to_string(),
                      fmt::join(a.annotations, ","), to_string(a.state), a.value, ms(a.active_at), ms(a.fired_at),
                      ms(a.resolved_at), ms(a.updated_at), opt(a.incident_id), ms(a.ends_at), a.ends_at_from_timeout,
                      a.generator_url));
    }
    for (const auto& f : TOCSIN_TRY(tx.list_alert_firings(at(-1'000'000'000), at(1'000'000'000)))) {
      add(fmt::format("firing {} {} {} {} {} {} {} {} [{}] {}", f.id, f.fingerprint, ms(f.at), f.alertname, f.service,
                      f.severity, f.plan, f.drill, fmt::join(f.silenced_by, ","), f.inhibited));
    }
    for (const auto& s : TOCSIN_TRY(tx.list_silences())) {
      std::vector<std::string> matchers;
      for (const auto& m : s.matchers) matchers.push_back(m.to_string());
      add(fmt::format("silence {} [{}] {} {} {} {} {}", s.id, fmt::join(matchers, ","), ms(s.starts_at), ms(s.ends_at),
                      ms(s.updated_at), s.created_by, s.comment));
    }
    for (const auto& n : TOCSIN_TRY(tx.list_nflog())) {
      add(fmt::format("nflog {} {} [{}] [{}] {} {}", n.receiver, n.group_key, fmt::join(n.firing, ","),
                      fmt::join(n.resolved, ","), ms(n.at), ms(n.expires_at)));
    }
    IncidentFilter all;
    all.limit = 1000;
    std::vector<int64_t> incidents{0};  // 0: notifications of no incident
    for (const auto& listed : TOCSIN_TRY(tx.list_incidents(all))) {
      const auto i = TOCSIN_TRY(tx.get_incident(listed.id)).value();
      incidents.push_back(i.id);
      add(fmt::format("incident {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} related [{}]", i.id, i.title, i.plan,
                      i.severity, to_string(i.status), i.group_key, ms(i.opened_at), ms(i.acknowledged_at),
                      ms(i.mitigated_at), ms(i.resolved_at), ms(i.closed_at), i.escalation_policy, i.escalation_pass,
                      i.escalation_next_level, ms(i.escalation_next_at), i.drill, fmt::join(i.related, ",")));
      for (const auto& a : i.alerts) {
        add(fmt::format("  alert {} {} {} {}", a.fingerprint, a.labels.to_string(), to_string(a.status), ms(a.added_at)));
      }
      for (const auto& c : i.clocks) {
        add(fmt::format("  clock {} {} {} {}", c.name, ms(c.started_at), ms(c.next_at), c.fired));
      }
      for (const auto& t : i.tasks) {
        add(fmt::format("  task {} {} {} {} {} {} {} {} {} {}", t.step, t.ord, t.title, t.owner, t.assignee, ms(t.due_at),
                        to_string(t.status), ms(t.done_at), t.done_by, ms(t.overdue_at)));
      }
      for (const auto& r : i.actions) {
        add(fmt::format("  action {} {} {} {} {} {} {} {} {} {} {} {} {}", r.step, r.type, to_string(r.state),
                        r.attempts, ms(r.created_at), ms(r.next_attempt_at), ms(r.started_at), ms(r.finished_at),
                        r.approved_by, ms(r.approved_at), r.request, r.last_result, r.last_output));
      }
      for (const auto& e : i.timeline) {
        add(fmt::format("  timeline {} {} {} {} {}", e.id, ms(e.at), e.kind, e.actor, e.detail));
      }
      if (auto pm = TOCSIN_TRY(tx.get_postmortem(i.id))) {
        const auto& f = pm->fields;
        add(fmt::format("  postmortem {} {} {} {} {} {} {} {} {} {} {}", f.summary, f.impact, f.root_cause,
                        f.contributing_factors, f.went_well, f.went_badly, f.lessons, ms(pm->updated_at),
                        pm->updated_by, ms(pm->completed_at), pm->completed_by));
      }
    }
    for (int64_t incident : incidents) {
      for (const auto& n : TOCSIN_TRY(tx.list_notifications(incident))) {
        add(fmt::format("notification {} {} {} {} {} {} {} {} {} {} {} {}", n.id, n.incident_id, n.target, n.channel,
                        n.address, n.payload, to_string(n.status), n.attempts, ms(n.created_at), ms(n.next_attempt_at),
                        n.last_error, n.dedup_key));
        for (const auto& a : TOCSIN_TRY(tx.list_attempts(n.id))) {
          add(fmt::format("  attempt {} {} {} {} {} {}", a.id, ms(a.at), a.ok, a.status_code, a.error,
                          a.latency.count()));
        }
      }
    }
    DrillRunFilter runs;
    runs.with_scorecard = true;
    for (const auto& r : TOCSIN_TRY(tx.list_drill_runs(runs))) {
      add(fmt::format("drill_run {} {} {} {} {} [{}] {} {} {} {} {} {} {}", r.id, r.scenario, r.plan, r.mode, r.seed,
                      fmt::join(r.participants, ","), ms(r.started_at), ms(r.finished_at), ms(r.ran_at), r.score,
                      r.passed, r.scorecard_json, opt(r.live_drill)));
    }
    for (const auto& d : TOCSIN_TRY(tx.list_live_drills(false))) {
      add(fmt::format("live_drill {} {} {} [{}] {} {} {} {} {} {}", d.id, d.scenario, d.plan,
                      fmt::join(d.participants, ","), ms(d.started_at), ms(d.finished_at), d.started_by, d.finished_by,
                      opt(d.run), d.scenario_yaml));
    }
    for (const auto& item : TOCSIN_TRY(tx.list_action_items({}))) {
      add(fmt::format("action_item {} {} {} {} {} {} {} {} {} {}", item.id, item.incident_id, item.title, item.owner,
                      ms(item.due_at), to_string(item.status), ms(item.created_at), item.created_by, ms(item.done_at),
                      item.done_by));
    }
    for (const auto& e : TOCSIN_TRY(tx.list_audit({}))) {
      add(fmt::format("audit {} {} {} {} {} {} {}", e.id, ms(e.at), e.actor, e.action, e.object, e.detail, e.source));
    }
    if (auto s = TOCSIN_TRY(tx.get_session(std::string(64, 'a')))) {
      add(fmt::format("session {} {} {} {} {} {} {} {}", s->id_sha256, s->token_name, s->token_check, s->role,
                      s->csrf_token, ms(s->created_at), ms(s->last_seen_at), ms(s->expires_at)));
    }
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
  return out;
}

// Two incidents with every kind of record around them, through the Store API; text that COPY
// must escape (tab, newline, backslash), non-ASCII text, the top bit of a fingerprint and a seed,
// an infinite and a NaN alert value.
void fill(Store& store) {
  auto status = store.write([&](Tx& tx) -> Status {
    Incident open;
    open.title = "Disk full on db-1\twith a tab, a \\ backslash and a\nnewline";
    open.plan = "disk";
    open.severity = "critical";
    open.status = IncidentStatus::kAcknowledged;
    open.group_key = "{}:{alertname=\"DiskFull\"}";
    open.opened_at = at(0);
    open.acknowledged_at = at(60'000);
    open.escalation_policy = "default";
    open.escalation_pass = 1;
    open.escalation_next_level = 2;
    open.escalation_next_at = at(600'000);
    const int64_t a = TOCSIN_TRY(tx.insert_incident(open));
    Incident drill = open;
    drill.title = "Überlast – drill";
    drill.status = IncidentStatus::kClosed;
    drill.mitigated_at = at(70'000);
    drill.resolved_at = at(80'000);
    drill.closed_at = at(90'000);
    drill.escalation_next_at.reset();
    drill.drill = "7";
    const int64_t b = TOCSIN_TRY(tx.insert_incident(drill));

    const core::Labels labels{{"alertname", "DiskFull"}, {"instance", "db-1"}};
    AlertRecord firing{kTopBitFingerprint, "disk_full", labels, {{"summary", "90% \"full\"\n\\o/"}},
                       AlertState::kFiring, std::numeric_limits<double>::infinity(), at(0), at(1000), std::nullopt,
                       at(2000), a, at(300'000), true, "http://prom/graph?g0.expr=x%20%3E%201"};
    TOCSIN_RETURN_IF_ERROR(tx.upsert_alert(firing));
    AlertRecord resolved{42, "", {{"alertname", "Gone"}}, {}, AlertState::kResolved, std::nan(""), at(5), std::nullopt,
                         at(9), at(9), std::nullopt, std::nullopt, false, ""};
    TOCSIN_RETURN_IF_ERROR(tx.upsert_alert(resolved));
    TOCSIN_TRY(tx.insert_alert_firing({0, firing.fingerprint, at(1000), "DiskFull", "db", "critical", "disk", "",
                                       {"silence-1"}, true}));
    TOCSIN_RETURN_IF_ERROR(tx.upsert_incident_alert(a, {firing.fingerprint, labels, AlertState::kFiring, at(1000)}));
    TOCSIN_RETURN_IF_ERROR(tx.insert_task(
        a, {"free-space", 1, "Free space", "ops", "alice", at(900'000), TaskStatus::kDone, at(100'000), "alice", at(950'000)}));
    TOCSIN_RETURN_IF_ERROR(tx.insert_link(a, b, at(3000)));
    TOCSIN_RETURN_IF_ERROR(tx.upsert_clock({a, "update", at(0), at(1'800'000), 2}));
    TOCSIN_TRY(tx.append_timeline({0, a, at(0), "opened", "tocsin", "DiskFull on db-1"}));
    TOCSIN_TRY(tx.append_timeline({0, a, at(60'000), "acknowledged", "alice", ""}));
    TOCSIN_TRY(tx.append_timeline({0, b, at(90'000), "note", "bob", "multi\nline\t\\ text ✓"}));
    ActionRun run;
    run.incident_id = a;
    run.step = "restart";
    run.type = "webhook";
    run.state = ActionState::kFailed;
    run.attempts = 3;
    run.created_at = at(1000);
    run.next_attempt_at = at(2000);
    run.started_at = at(1500);
    run.finished_at = at(1600);
    run.approved_by = "alice";
    run.approved_at = at(1200);
    run.request = R"({"url":"http://x/restart"})";
    run.last_result = "HTTP 500";
    run.last_output = "boom";
    TOCSIN_RETURN_IF_ERROR(tx.insert_action_run(run));
    Notification page{0, a, "person:alice", "webhook", "http://pager/hook", "{\"text\":\"page\"}",
                      NotificationStatus::kSent, 2, at(1000), at(2000), "", "inc:1/pass:0/level:0/person:alice"};
    const int64_t n = TOCSIN_TRY(tx.insert_notification(page));
    TOCSIN_TRY(tx.insert_attempt({0, n, at(1500), false, 503, "Service Unavailable", core::Duration(120)}));
    TOCSIN_TRY(tx.insert_attempt({0, n, at(2000), true, 200, "", core::Duration(35)}));
    Notification group{0, 0, "channel:ops", "slack", "http://slack/x", "{}", NotificationStatus::kPending, 0, at(4000),
                       at(5000), "", ""};
    TOCSIN_TRY(tx.insert_notification(group));
    TOCSIN_RETURN_IF_ERROR(tx.upsert_silence({"silence-1",
                                              {TOCSIN_TRY(core::Matcher::parse("alertname=~\"Disk.*\"")),
                                               TOCSIN_TRY(core::Matcher::parse("instance!=\"db-2\""))},
                                              at(0), at(3'600'000), at(10), "alice", "maintenance\twindow"}));
    TOCSIN_RETURN_IF_ERROR(
        tx.upsert_nflog({"ops", "{}:{alertname=\"DiskFull\"}", {firing.fingerprint}, {42}, at(1000), at(500'000'000)}));
    LiveDrill live{0, "crash", "disk", {"alice", "bob"}, at(100), at(200), "alice", "bob", std::nullopt,
                   "name: crash\nsteps: []\n"};
    const int64_t live_id = TOCSIN_TRY(tx.insert_live_drill(live));
    DrillRun scored{0, "crash", "disk", "live", 0xffffffffffffff01ULL, {"alice", "bob"}, at(100), at(200), at(250),
                    87.5, true, R"({"score":87.5,"steps":[]})", live_id};
    TOCSIN_TRY(tx.insert_drill_run(scored));
    Postmortem pm{b, {"summary", "impact", "root\tcause", "factors", "well", "badly", "lessons"}, at(95'000), "alice",
                  at(96'000), "bob"};
    TOCSIN_RETURN_IF_ERROR(tx.upsert_postmortem(pm));
    TOCSIN_TRY(tx.insert_action_item(
        {0, b, "Add disk alerts", "alice", at(10'000'000), ActionItemStatus::kDone, at(95'000), "bob", at(99'000), "alice"}));
    TOCSIN_TRY(tx.append_audit({0, at(60'000), "alice", "incident.acknowledge", "incident/1", "", "127.0.0.1:5555"}));
    TOCSIN_RETURN_IF_ERROR(tx.insert_session({std::string(64, 'a'), "alice-token", std::string(64, 'b'), "responder",
                                              "csrf", at(0), at(500), at(86'400'000)}));
    return core::ok();
  });
  ASSERT_TRUE(status.has_value()) << status.error().to_string();
}

class CopyFromSqliteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = test_support::PostgresServer::start();
    ASSERT_TRUE(server.has_value()) << server.error().to_string();
    server_ = std::move(*server).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    static int next = 0;
    const std::string name = fmt::format("target{}", ++next);
    ASSERT_TRUE(server_->exec("postgres", fmt::format("CREATE DATABASE {} TEMPLATE template0", name)).has_value());
    uri_ = server_->uri(name);
    source_ = dir_.path() / "data" / "tocsin.db";
  }

  // A SQLite store at source_, filled with every kind of record, closed again.
  void make_source() {
    auto store = sqlite::open_sqlite_store(source_);
    ASSERT_TRUE(store.has_value()) << store.error().to_string();
    fill(**store);
  }

  Result<CopyFromSqliteResult> copy() {
    auto scratch = core::ScratchDir::create(dir_.path(), "scratch-");
    if (!scratch) return std::unexpected(scratch.error());
    return copy_from_sqlite(source_, uri_, scratch->path());
  }

  // Rows of every table of the target (but schema_version), as "table=count" in name order.
  std::string target_rows() {
    auto db = must(Connection::open(uri_));
    if (!db) return "no connection";
    auto tables = must(db->prepare(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_name <> 'schema_version' ORDER BY table_name"));
    std::vector<std::string> names;
    while (must(tables->step())) names.push_back(tables->column_text(0));
    std::string out;
    for (const auto& name : names) {
      auto count = must(db->prepare(fmt::format("SELECT count(*) FROM {}", name)));
      must(count->step());
      out += fmt::format("{}={} ", name, count->column_int64(0));
    }
    return out;
  }

  void sqlite_exec(std::string_view sql) {
    auto db = must(sqlite::Database::open(source_));
    ASSERT_TRUE(db);
    auto done = db->exec(sql);
    ASSERT_TRUE(done.has_value()) << done.error().to_string();
  }

  static std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static test_support::PostgresServer* server_;
  test_support::TempDir dir_;
  std::string uri_;
  fs::path source_;
};

test_support::PostgresServer* CopyFromSqliteTest::server_ = nullptr;

// Every table of an empty target is empty ("name=0 " for each).
MATCHER(AllZero, "every table has no row") {
  return !arg.empty() && arg.find_first_of("123456789") == std::string::npos;
}

TEST_F(CopyFromSqliteTest, EveryRecordReadsBackTheSameThroughThePostgresStoreAndIdsContinue) {
  make_source();
  auto sqlite_store = sqlite::open_sqlite_store(source_);
  ASSERT_TRUE(sqlite_store.has_value());
  const std::string expected = dump(**sqlite_store);
  sqlite_store->reset();
  ASSERT_THAT(expected, HasSubstr("timeline 3 "));  // the dump does see the records

  auto copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  EXPECT_EQ(copied->sqlite_version, static_cast<int>(sqlite::schema_migrations().size()));
  EXPECT_EQ(copied->postgres_version_before, 0);
  EXPECT_EQ(copied->postgres_version, static_cast<int>(schema_migrations().size()));
  std::map<std::string, CopiedTable> by_name;
  for (const auto& table : copied->tables) by_name[table.name] = table;
  EXPECT_EQ(by_name["incidents"].rows, 2);
  EXPECT_EQ(by_name["incidents"].last_id, 2);
  EXPECT_EQ(by_name["timeline"].rows, 3);
  EXPECT_EQ(by_name["notification_attempts"].rows, 2);
  EXPECT_EQ(by_name["sessions"].rows, 1);
  EXPECT_EQ(by_name["sessions"].last_id, std::nullopt);  // no identity column
  EXPECT_FALSE(by_name.contains("schema_version"));
  EXPECT_FALSE(by_name.contains("alert_time_log"));
  EXPECT_EQ(copied->rows(), 25);
  EXPECT_TRUE(copied->foreign_keys_checked_at_end);
  // Parents before children.
  auto position = [&](std::string_view name) {
    for (size_t i = 0; i < copied->tables.size(); ++i) {
      if (copied->tables[i].name == name) return i;
    }
    return copied->tables.size();
  };
  EXPECT_LT(position("incidents"), position("timeline"));
  EXPECT_LT(position("notifications"), position("notification_attempts"));
  EXPECT_LT(position("live_drills"), position("drill_runs"));

  auto pg_store = open_postgres_store(uri_);
  ASSERT_TRUE(pg_store.has_value()) << pg_store.error().to_string();
  EXPECT_EQ(dump(**pg_store), expected);

  // New ids continue after the copied ones.
  auto status = (*pg_store)->write([&](Tx& tx) -> Status {
    Incident next;
    next.title = "after the move";
    next.status = IncidentStatus::kTriggered;
    next.opened_at = at(1'000'000);
    EXPECT_EQ(TOCSIN_TRY(tx.insert_incident(next)), 3);
    EXPECT_EQ(TOCSIN_TRY(tx.append_timeline({0, 1, at(1'000'000), "note", "carol", "after"})), 4);
    EXPECT_EQ(TOCSIN_TRY(tx.append_audit({0, at(1'000'000), "carol", "incident.note", "incident/1", "", ""})), 2);
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
  // The foreign keys, taken off for the copy, are back.
  auto orphan = (*pg_store)->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.append_timeline({0, 99, at(1'000'000), "note", "carol", "of no incident"}));
    return core::ok();
  });
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(CopyFromSqliteTest, ARoleThatDoesNotOwnTheTablesCopiesWithTheKeysCheckedRowByRow) {
  make_source();
  const std::string db = uri_.substr(uri_.rfind('/') + 1);
  ASSERT_TRUE(open_postgres_store(uri_).has_value());  // migrated by its owner
  ASSERT_TRUE(server_->exec(db, fmt::format("CREATE ROLE mover_{0} LOGIN; "
                                            "GRANT ALL ON ALL TABLES IN SCHEMA public TO mover_{0}; "
                                            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO mover_{0}; "
                                            // migrate() runs CREATE TABLE IF NOT EXISTS schema_version
                                            "GRANT CREATE ON SCHEMA public TO mover_{0}",
                                            db))
                  .has_value());
  uri_ = fmt::format("postgresql://mover_{}@127.0.0.1:{}/{}", db, server_->port(), db);
  auto copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  EXPECT_EQ(copied->rows(), 25);
  EXPECT_FALSE(copied->foreign_keys_checked_at_end);
  EXPECT_THAT(target_rows(), HasSubstr("timeline=3 "));
}

TEST_F(CopyFromSqliteTest, IdsDeletedInSqliteAreNotHandedOutAgain) {
  make_source();
  // Incident 2 and everything of it gone, as if pruned: SQLite's AUTOINCREMENT remembers id 2.
  sqlite_exec(
      "DELETE FROM action_items; DELETE FROM postmortems; DELETE FROM incident_links; "
      "DELETE FROM timeline WHERE incident_id = 2; DELETE FROM incidents WHERE id = 2");
  auto copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  auto pg_store = must(open_postgres_store(uri_));
  ASSERT_TRUE(pg_store);
  auto status = pg_store->write([&](Tx& tx) -> Status {
    Incident next;
    next.title = "after";
    EXPECT_EQ(TOCSIN_TRY(tx.insert_incident(next)), 3);
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
}

// The SQLite process holds the engine lease for a day: copied, it would keep every replica on
// PostgreSQL from paging until it expired. Leases, the membership and the per-replica detector
// state checkpoints stay behind.
TEST_F(CopyFromSqliteTest, TheOldProcessLeaseAndMembershipAreNotCopied) {
  make_source();
  {
    auto store = sqlite::open_sqlite_store(source_);
    ASSERT_TRUE(store.has_value());
    const auto now = core::parse_rfc3339("2026-03-02T08:00:00Z").value();
    auto st = (*store)->write([&](Tx& tx) -> Status {
      EXPECT_TRUE(TOCSIN_TRY(tx.acquire_lease("engine", "old-sqlite", now, std::chrono::hours(24))).held_by("old-sqlite", now));
      TOCSIN_RETURN_IF_ERROR(tx.put_detector_state("old-sqlite", now, std::string("RULE\0\xff", 6)));
      return tx.heartbeat_replica({"old-sqlite", "http://old", now, now});
    });
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
  }
  auto copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  std::vector<std::string> skipped;
  for (const auto& t : copied->skipped) skipped.push_back(t.name);
  EXPECT_THAT(skipped, ::testing::IsSupersetOf({"leases", "replicas", "detector_states"}));
  auto pg_store = must(open_postgres_store(uri_));
  ASSERT_TRUE(pg_store);
  auto st = pg_store->read([&](Tx& tx) -> Status {
    EXPECT_TRUE(TOCSIN_TRY(tx.list_leases()).empty());
    EXPECT_TRUE(TOCSIN_TRY(tx.list_replicas()).empty());
    EXPECT_TRUE(TOCSIN_TRY(tx.list_detector_states()).empty());
    return core::ok();
  });
  EXPECT_TRUE(st.has_value()) << st.error().to_string();
}

TEST_F(CopyFromSqliteTest, TheSourceFilesAreNotChanged) {
  make_source();
  // An open store: the WAL and the alert time log exist, as after a crash.
  auto running = sqlite::open_sqlite_store(source_);
  ASSERT_TRUE(running.has_value());
  // A re-sent alert goes to the alert time log only, not into the database file.
  auto touched = (*running)->write([](Tx& tx) { return tx.touch_alert(kTopBitFingerprint, at(777'000), false, at(777'000)); });
  ASSERT_TRUE(touched.has_value()) << touched.error().to_string();
  // A crash image: the files as they are now, while the store still has them open.
  const fs::path image = dir_.path() / "image";
  fs::create_directories(image);
  for (const char* suffix : {"", "-wal", "-shm", "-alert-times"}) {
    fs::path from = source_;
    from += suffix;
    if (fs::exists(from)) fs::copy_file(from, image / fs::path(from).filename());
  }
  ASSERT_TRUE(fs::exists(image / "tocsin.db-alert-times"));
  running->reset();
  source_ = image / "tocsin.db";
  std::map<std::string, std::string> before;
  for (const auto& entry : fs::directory_iterator(image)) before[entry.path().filename()] = read_file(entry.path());

  auto copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();

  std::map<std::string, std::string> after;
  for (const auto& entry : fs::directory_iterator(image)) after[entry.path().filename()] = read_file(entry.path());
  EXPECT_EQ(after, before);  // the same files, byte for byte; nothing added
  // The re-sent alert's times, which were only in the log, arrived.
  auto pg_store = must(open_postgres_store(uri_));
  ASSERT_TRUE(pg_store);
  auto status = pg_store->read([](Tx& tx) -> Status {
    auto alert = TOCSIN_TRY(tx.get_alert(kTopBitFingerprint));
    EXPECT_TRUE(alert.has_value());
    if (alert) {
      EXPECT_EQ(ms(alert->updated_at), ms(at(777'000)));
      EXPECT_EQ(ms(alert->ends_at), std::to_string(ms(at(777'000))));
      EXPECT_FALSE(alert->ends_at_from_timeout);
    }
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
}

TEST_F(CopyFromSqliteTest, AnOlderSourceSchemaIsMigratedInTheCopyOnly) {
  {
    fs::create_directories(source_.parent_path());
    auto db = must(sqlite::Database::open(source_));
    ASSERT_TRUE(db);
    auto first_eleven = sqlite::schema_migrations().first(11);
    ASSERT_EQ(must(sqlite::migrate(*db, first_eleven)), 11);
    ASSERT_TRUE(db->exec("INSERT INTO incidents (title, plan, severity, status, group_key, opened_at, "
                         "escalation_policy, escalation_pass, escalation_next_level) "
                         "VALUES ('old', '', 'warning', 'triggered', 'g', 1, '', 0, 0)")
                    .has_value());
  }
  auto copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  EXPECT_EQ(copied->sqlite_version, 11);
  auto db = must(sqlite::Database::open_read_only(source_));
  ASSERT_TRUE(db);
  EXPECT_EQ(must(sqlite::schema_version(*db)), 11);  // the source stays as it was
  EXPECT_THAT(target_rows(), HasSubstr("incidents=1 "));
}

TEST_F(CopyFromSqliteTest, ANonEmptyTargetIsRefusedNamingATableAndKeepsItsRows) {
  make_source();
  {
    auto pg_store = must(open_postgres_store(uri_));
    ASSERT_TRUE(pg_store);
    ASSERT_TRUE(pg_store->write([](Tx& tx) -> Status {
      TOCSIN_TRY(tx.append_audit({0, at(1), "zoe", "silence.create", "silence/x", "", ""}));
      return core::ok();
    }).has_value());
  }
  const std::string before = target_rows();
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(copied.error().message(), HasSubstr("not empty: table audit_log has rows"));
  EXPECT_EQ(target_rows(), before);
  EXPECT_THAT(before, HasSubstr("audit_log=1 "));
}

TEST_F(CopyFromSqliteTest, AMissingSourceIsRefused) {
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(copied.error().message(), HasSubstr(source_.string()));
  EXPECT_FALSE(fs::exists(source_));  // nothing created
  EXPECT_EQ(target_rows(), "");  // the target was not touched, not even its schema
}

TEST_F(CopyFromSqliteTest, ADamagedOrForeignSourceIsRefused) {
  fs::create_directories(source_.parent_path());
  {
    std::ofstream(source_, std::ios::binary) << std::string(8192, 'x');
  }
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(copied.error().message(), HasSubstr("is not a tocsin SQLite store"));
  EXPECT_THAT(copied.error().message(), HasSubstr("not a database"));
  EXPECT_EQ(read_file(source_), std::string(8192, 'x'));

  fs::remove(source_);
  sqlite_exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
  copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_THAT(copied.error().message(), HasSubstr("no schema_version table"));
  EXPECT_EQ(target_rows(), "");  // the target was not touched, not even its schema
}

TEST_F(CopyFromSqliteTest, ANewerSourceSchemaIsRefused) {
  make_source();
  sqlite_exec("UPDATE schema_version SET version = 99");
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(copied.error().message(), HasSubstr("schema version 99, newer than this tocsin knows"));
  EXPECT_EQ(target_rows(), "");  // the target was not touched, not even its schema
}

TEST_F(CopyFromSqliteTest, ASourceInUseByARunningStoreIsRefused) {
  make_source();
  auto running = sqlite::open_sqlite_store(source_);
  ASSERT_TRUE(running.has_value());
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(copied.error().message(), HasSubstr("in use by a running tocsin"));
  EXPECT_EQ(target_rows(), "");  // the target was not touched, not even its schema
}

TEST_F(CopyFromSqliteTest, SchemasThatDifferAreRefusedNamingWhereButAPostgresOnlyTableIsLeftEmpty) {
  make_source();
  sqlite_exec("ALTER TABLE incidents ADD COLUMN extra TEXT");
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(copied.error().message(), HasSubstr("column incidents.extra is in the SQLite store but not in the PostgreSQL one"));

  sqlite_exec("ALTER TABLE incidents DROP COLUMN extra; CREATE TABLE leftovers (id INTEGER PRIMARY KEY)");
  copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_THAT(copied.error().message(), HasSubstr("table leftovers is in the SQLite store but not in the PostgreSQL one"));

  sqlite_exec("DROP TABLE leftovers");
  const std::string db = uri_.substr(uri_.rfind('/') + 1);
  ASSERT_TRUE(server_->exec(db, "ALTER TABLE timeline ADD COLUMN extra TEXT").has_value());
  copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_THAT(copied.error().message(), HasSubstr("column timeline.extra is in the PostgreSQL store but not in the SQLite one"));
  EXPECT_THAT(target_rows(), AllZero());

  // A column type no SQLite value converts to.
  ASSERT_TRUE(server_->exec(db, "ALTER TABLE timeline DROP COLUMN extra; "
                                "ALTER TABLE audit_log ALTER COLUMN source TYPE xml USING NULL")
                  .has_value());
  copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_THAT(copied.error().message(),
              HasSubstr("column audit_log.source has PostgreSQL type xml, which tocsin migrate cannot fill"));
  EXPECT_THAT(target_rows(), AllZero());

  // A table only PostgreSQL has (replicas' shared state) has nothing to receive: left empty, said so.
  ASSERT_TRUE(server_->exec(db, "ALTER TABLE audit_log ALTER COLUMN source TYPE text; "
                                "CREATE TABLE heartbeats (replica TEXT PRIMARY KEY, seen_at BIGINT NOT NULL)")
                  .has_value());
  copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  ASSERT_FALSE(copied->skipped.empty());
  EXPECT_EQ(copied->skipped.back().name, "heartbeats");
  EXPECT_THAT(copied->skipped.back().why, HasSubstr("only in the PostgreSQL schema"));
  EXPECT_EQ(copied->rows(), 25);
  EXPECT_THAT(target_rows(), HasSubstr("heartbeats=0 "));
}

TEST_F(CopyFromSqliteTest, AValueThatDoesNotFitHalfWayRollsEverythingBack) {
  make_source();
  // SQLite keeps text in an INTEGER column; sessions comes after incidents, the audit log and
  // others in the copy order, so they went in before it failed.
  sqlite_exec("UPDATE sessions SET created_at = 'soon'");
  auto copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(copied.error().message(),
              HasSubstr("sessions.created_at, row 1 of the SQLite table: a TEXT value (soon) where PostgreSQL's bigint"));
  EXPECT_THAT(target_rows(), AllZero());

  // A row PostgreSQL refuses (a timeline event of no incident: its foreign key), after the
  // incidents went in.
  sqlite_exec("UPDATE sessions SET created_at = 0; INSERT INTO timeline (incident_id, at, kind, actor, detail) "
              "VALUES (99, 1, 'note', 'x', 'orphan')");
  copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(copied.error().message(), HasSubstr("table timeline: "));
  EXPECT_THAT(copied.error().message(), HasSubstr("violates foreign key constraint"));
  EXPECT_THAT(copied.error().message(), HasSubstr("(incident_id)=(99)"));
  EXPECT_THAT(target_rows(), AllZero());

  // Text with a NUL byte, which PostgreSQL cannot hold.
  sqlite_exec("DELETE FROM timeline WHERE incident_id = 99; UPDATE audit_log SET detail = 'a' || char(0) || 'b'");
  copied = copy();
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(copied.error().message(), HasSubstr("audit_log.detail, row 1 of the SQLite table: text with a NUL byte"));
  EXPECT_THAT(target_rows(), AllZero());

  // Fixed, the same target takes the copy.
  sqlite_exec("UPDATE audit_log SET detail = 'ab'");
  copied = copy();
  ASSERT_TRUE(copied.has_value()) << copied.error().to_string();
  EXPECT_EQ(copied->rows(), 25);
}

}  // namespace
}  // namespace tocsin::store::postgres
