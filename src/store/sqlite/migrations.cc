#include "store/sqlite/migrations.h"

#include <fmt/format.h>

#include <array>

namespace tocsin::store::sqlite {
namespace {

// Conventions for every table: times are INTEGER unix milliseconds (NULL = not yet), label sets and
// annotations are JSON objects of name -> value, fingerprints are the uint64 bit-cast to int64, and
// enum columns hold the names that store.h's to_string prints.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE incidents (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
  title                 TEXT    NOT NULL,
  plan                  TEXT    NOT NULL,
  severity              TEXT    NOT NULL,
  status                TEXT    NOT NULL
                        CHECK (status IN ('triggered', 'acknowledged', 'mitigated', 'resolved', 'closed')),
  group_key             TEXT    NOT NULL,
  opened_at             INTEGER NOT NULL,
  acknowledged_at       INTEGER,
  mitigated_at          INTEGER,
  resolved_at           INTEGER,
  closed_at             INTEGER,
  escalation_policy     TEXT    NOT NULL,
  escalation_pass       INTEGER NOT NULL,
  escalation_next_level INTEGER NOT NULL,
  escalation_next_at    INTEGER
);
CREATE INDEX incidents_by_opened ON incidents (opened_at, id);
CREATE INDEX incidents_by_group_key ON incidents (group_key, opened_at, id);
CREATE INDEX incidents_escalation_due ON incidents (escalation_next_at, id)
  WHERE status = 'triggered' AND escalation_next_at IS NOT NULL;

CREATE TABLE alerts (
  fingerprint INTEGER PRIMARY KEY,
  rule        TEXT    NOT NULL,
  labels      TEXT    NOT NULL,
  annotations TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  value       REAL,             -- NULL stands for NaN, which SQLite cannot store
  active_at   INTEGER NOT NULL,
  fired_at    INTEGER,
  resolved_at INTEGER,
  updated_at  INTEGER NOT NULL,
  incident_id INTEGER REFERENCES incidents (id)
);
CREATE INDEX alerts_by_state ON alerts (state);

CREATE TABLE incident_alerts (
  incident_id INTEGER NOT NULL REFERENCES incidents (id),
  fingerprint INTEGER NOT NULL,
  labels      TEXT    NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
  added_at    INTEGER NOT NULL,
  PRIMARY KEY (incident_id, fingerprint)
) WITHOUT ROWID;

CREATE TABLE tasks (
  incident_id INTEGER NOT NULL REFERENCES incidents (id),
  step        TEXT    NOT NULL,
  ord         INTEGER NOT NULL,
  title       TEXT    NOT NULL,
  owner       TEXT    NOT NULL,
  assignee    TEXT    NOT NULL,
  due_at      INTEGER NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('open', 'done', 'skipped')),
  done_at     INTEGER,
  done_by     TEXT    NOT NULL,
  PRIMARY KEY (incident_id, step)
) WITHOUT ROWID;

CREATE TABLE timeline (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id INTEGER NOT NULL REFERENCES incidents (id),
  at          INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  actor       TEXT    NOT NULL,
  detail      TEXT    NOT NULL
);
CREATE INDEX timeline_by_incident ON timeline (incident_id, id);

-- incident_id is NULL for notifications that belong to no incident (notify-only routes), so the
-- foreign key still holds for those that do.
CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id     INTEGER REFERENCES incidents (id),
  target          TEXT    NOT NULL,
  channel         TEXT    NOT NULL,
  address         TEXT    NOT NULL,
  payload         TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT    NOT NULL
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at, id);
CREATE INDEX notifications_by_incident ON notifications (incident_id, id);

CREATE TABLE notification_attempts (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id INTEGER NOT NULL REFERENCES notifications (id),
  at              INTEGER NOT NULL,
  ok              INTEGER NOT NULL CHECK (ok IN (0, 1)),
  status_code     INTEGER NOT NULL,
  error           TEXT    NOT NULL,
  latency_ms      INTEGER NOT NULL
);
CREATE INDEX notification_attempts_by_notification ON notification_attempts (notification_id, id);
)sql";

// Alertmanager compatibility (issue 4): endsAt and generatorURL on alerts, silences, and the
// notification log. Lists of fingerprints inside JSON are decimal strings of the uint64, because a
// JSON number above 2^53 loses precision in most readers.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE alerts ADD COLUMN ends_at INTEGER;
ALTER TABLE alerts ADD COLUMN ends_at_from_timeout INTEGER NOT NULL DEFAULT 0 CHECK (ends_at_from_timeout IN (0, 1));
ALTER TABLE alerts ADD COLUMN generator_url TEXT NOT NULL DEFAULT '';
-- For delete_resolved_alerts: only the rows it may delete, by age.
CREATE INDEX alerts_resolved_unowned ON alerts (updated_at)
  WHERE state = 'resolved' AND incident_id IS NULL;

-- No index on ends_at: silences are few, and the expiry sweep reads them like list_silences does.
CREATE TABLE silences (
  id         TEXT    PRIMARY KEY,
  matchers   TEXT    NOT NULL,  -- JSON array of strings, each as core::Matcher::to_string prints it
  starts_at  INTEGER NOT NULL,
  ends_at    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  created_by TEXT    NOT NULL,
  comment    TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE nflog (
  receiver   TEXT    NOT NULL,
  group_key  TEXT    NOT NULL,
  firing     TEXT    NOT NULL,  -- JSON array of fingerprints as decimal strings, e.g. ["18364758544493064720"]
  resolved   TEXT    NOT NULL,  -- likewise
  at         INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (receiver, group_key)
) WITHOUT ROWID;
CREATE INDEX nflog_by_expiry ON nflog (expires_at);
)sql";

// Channels (issue 5): the escalator names each page by its escalation step (incident, pass, level,
// target, channel kind, address); the unique index makes a second page for the same step an error
// that rolls the whole escalation transaction back. NULL (group notifications) is never a
// duplicate.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE notifications ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX notifications_dedup ON notifications (dedup_key) WHERE dedup_key IS NOT NULL;
)sql";


// Issue 5: task deadlines, related incidents, plan clocks.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE tasks ADD COLUMN overdue_at INTEGER;
CREATE INDEX tasks_due ON tasks (due_at) WHERE status = 'open' AND overdue_at IS NULL;
-- An undirected link, stored once with incident_a < incident_b.
CREATE TABLE incident_links (
  incident_a INTEGER NOT NULL REFERENCES incidents (id),
  incident_b INTEGER NOT NULL REFERENCES incidents (id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (incident_a, incident_b),
  CHECK (incident_a < incident_b)
) WITHOUT ROWID;
CREATE INDEX incident_links_by_b ON incident_links (incident_b, incident_a);
CREATE TABLE incident_clocks (
  incident_id INTEGER NOT NULL REFERENCES incidents (id),
  name        TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  next_at     INTEGER,
  fired       INTEGER NOT NULL,
  PRIMARY KEY (incident_id, name)
) WITHOUT ROWID;
CREATE INDEX incident_clocks_due ON incident_clocks (next_at) WHERE next_at IS NOT NULL;
)sql";

// Automated actions on plan steps (issue 5): one run per (incident, step) with an action. Only
// new tables, so it applies after any other script. Named kV5 because kV3 and kV4 were taken by
// branches developed alongside; it is the third script on this branch and takes its final number
// when they meet.
// `request` is the rendered request as JSON (empty until the first attempt), so retries send
// exactly the same thing.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE action_runs (
  incident_id     INTEGER NOT NULL REFERENCES incidents (id),
  step            TEXT    NOT NULL,
  type            TEXT    NOT NULL CHECK (type IN ('webhook', 'command')),
  state           TEXT    NOT NULL
                  CHECK (state IN ('awaiting_approval', 'pending', 'running', 'succeeded', 'failed')),
  attempts        INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER,
  approved_by     TEXT    NOT NULL,
  approved_at     INTEGER,
  request         TEXT    NOT NULL,
  last_result     TEXT    NOT NULL,
  last_output     TEXT    NOT NULL,
  PRIMARY KEY (incident_id, step)
) WITHOUT ROWID;
CREATE INDEX action_runs_by_state ON action_runs (state, next_attempt_at);
)sql";

// Drills (issue 7): drill history, live drills, and the drill mark on incidents. Only new tables
// and a new column with a default, so it applies after any other script.
// drill_runs.participants and live_drills.participants are JSON arrays of person ids; seed is the
// uint64 bit-cast to int64, like fingerprints; scorecard is the runner's JSON object, verbatim.
constexpr std::string_view kV6 = R"sql(
CREATE TABLE live_drills (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  scenario     TEXT    NOT NULL,
  plan         TEXT    NOT NULL,
  participants TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  started_by   TEXT    NOT NULL,
  finished_by  TEXT    NOT NULL,
  run          INTEGER
);
CREATE TABLE drill_runs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  scenario     TEXT    NOT NULL,
  plan         TEXT    NOT NULL,
  mode         TEXT    NOT NULL CHECK (mode IN ('simulated', 'live')),
  seed         INTEGER NOT NULL,
  participants TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER NOT NULL CHECK (finished_at >= started_at),
  ran_at       INTEGER NOT NULL,
  score        REAL    NOT NULL CHECK (score >= 0 AND score <= 100),
  passed       INTEGER NOT NULL CHECK (passed IN (0, 1)),
  scorecard    TEXT    NOT NULL,
  live_drill   INTEGER REFERENCES live_drills (id)
);
CREATE INDEX drill_runs_by_ran_at ON drill_runs (ran_at, id);
CREATE INDEX drill_runs_by_plan ON drill_runs (plan, ran_at);
ALTER TABLE incidents ADD COLUMN drill TEXT NOT NULL DEFAULT '';
)sql";

// The alert time log (alert_time_log.h): which epoch of the log the alerts table already holds.
// Only a new table, so it applies after any other script; renumber it when branches meet.
constexpr std::string_view kV7 = R"sql(
CREATE TABLE alert_time_log (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  applied_epoch INTEGER NOT NULL
);
INSERT INTO alert_time_log (id, applied_epoch) VALUES (1, 0);
)sql";

// Live drills registered with their scenario's text, which the server scores when they finish.
// Only a new column with a default, so it applies after any other script.
constexpr std::string_view kV8 = R"sql(
ALTER TABLE live_drills ADD COLUMN scenario_yaml TEXT NOT NULL DEFAULT '';
)sql";

// Postmortems people write and the action items they track (issue 8, docs/postmortems.md). Only
// new tables, so it applies after any other script; renumber it when branches meet.
constexpr std::string_view kV9 = R"sql(
CREATE TABLE postmortems (
  incident_id          INTEGER PRIMARY KEY REFERENCES incidents (id),
  summary              TEXT    NOT NULL,
  impact               TEXT    NOT NULL,
  root_cause           TEXT    NOT NULL,
  contributing_factors TEXT    NOT NULL,
  went_well            TEXT    NOT NULL,
  went_badly           TEXT    NOT NULL,
  lessons              TEXT    NOT NULL,
  updated_at           INTEGER,
  updated_by           TEXT    NOT NULL,
  completed_at         INTEGER,
  completed_by         TEXT    NOT NULL
);

CREATE TABLE action_items (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
  incident_id INTEGER NOT NULL REFERENCES incidents (id),
  title       TEXT    NOT NULL CHECK (title <> ''),
  owner       TEXT    NOT NULL,
  due_at      INTEGER NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('open', 'done')),
  created_at  INTEGER NOT NULL,
  created_by  TEXT    NOT NULL,
  done_at     INTEGER,
  done_by     TEXT    NOT NULL
);
CREATE INDEX action_items_by_incident ON action_items (incident_id, id);
CREATE INDEX action_items_by_status_due ON action_items (status, due_at, id);
)sql";

// The audit log (issue 8, docs/compliance.md): every change made by a person or an API client,
// written in the transaction of the change. Only a new table, so it applies after any other
// script. Never pruned by tocsin (retention is the operator's call; see the doc).
constexpr std::string_view kV10 = R"sql(
CREATE TABLE audit_log (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  at     INTEGER NOT NULL,
  actor  TEXT    NOT NULL,
  action TEXT    NOT NULL CHECK (action <> ''),
  object TEXT    NOT NULL,
  detail TEXT    NOT NULL,
  source TEXT    NOT NULL   -- the HTTP peer "ip:port" of the request; '' when not known
);
CREATE INDEX audit_log_by_at ON audit_log (at, id);
)sql";

// Alert firings and whether each was muted (docs/kpi.md, "silenced share"): one row per alert
// that started firing, written with the firing. Only a new table, so it applies after any other
// script; renumber it when branches meet. Rows older than a retention (alerting/pipeline.h) go.
constexpr std::string_view kV11 = R"sql(
CREATE TABLE alert_firings (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  fingerprint INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  alertname   TEXT    NOT NULL,
  service     TEXT    NOT NULL,
  severity    TEXT    NOT NULL,
  plan        TEXT    NOT NULL,
  drill       TEXT    NOT NULL,
  silenced_by TEXT    NOT NULL,  -- JSON array of silence ids; '[]' = not silenced
  inhibited   INTEGER NOT NULL CHECK (inhibited = 0 OR inhibited = 1)
);
CREATE INDEX alert_firings_by_at ON alert_firings (at, id);
)sql";

// Web UI sessions (api/sessions.h): only the SHA-256 of the id the browser holds. Only a new
// table, so it applies after any other script; renumber it when branches meet.
constexpr std::string_view kV12 = R"sql(
CREATE TABLE sessions (
  id_sha256    TEXT    PRIMARY KEY CHECK (length(id_sha256) = 64),
  token_name   TEXT    NOT NULL,
  token_check  TEXT    NOT NULL,   -- SHA-256 of the token's digest: a changed secret ends the session
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
  csrf_token   TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
)sql";

// Leases and replica membership (docs/high-availability.md, "Shared work: the engine lease").
// Only new tables, so it applies after any other script.
constexpr std::string_view kV13 = R"sql(
CREATE TABLE leases (
  name        TEXT    PRIMARY KEY CHECK (name <> ''),
  holder      TEXT    NOT NULL,   -- replica id; '' = free
  epoch       INTEGER NOT NULL CHECK (epoch >= 0),
  acquired_at INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE TABLE replicas (
  id           TEXT    PRIMARY KEY CHECK (id <> ''),
  address      TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);
)sql";

// Per-replica checkpoints of the rule engine's learned detector state (docs/high-availability.md,
// "Detector state checkpoints"): the state is the bytes of detect::RuleEngine::snapshot(). Only a
// new table, so it applies after any other script.
constexpr std::string_view kV14 = R"sql(
CREATE TABLE detector_states (
  replica_id TEXT    PRIMARY KEY CHECK (replica_id <> ''),
  saved_at   INTEGER NOT NULL,
  state      BLOB    NOT NULL
);
)sql";

constexpr std::array<std::string_view, 14> kMigrations{kV1, kV2, kV3, kV4, kV5, kV6, kV7,
                                                       kV8, kV9, kV10, kV11, kV12, kV13, kV14};

constexpr std::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)";

Result<int> read_version(Database& db) {
  auto statement = TOCSIN_TRY(db.prepare_uncached("SELECT version FROM schema_version WHERE id = 1"));
  bool has_row = TOCSIN_TRY(statement->step());
  return has_row ? static_cast<int>(statement->column_int64(0)) : 0;
}

Status write_version(Database& db, int version) {
  auto statement = TOCSIN_TRY(db.prepare_uncached(
      "INSERT INTO schema_version (id, version) VALUES (1, ?1) "
      "ON CONFLICT (id) DO UPDATE SET version = excluded.version"));
  TOCSIN_RETURN_IF_ERROR(statement->bind_all(version));
  return statement->run();
}

void rollback(Database& db) {
  if (db.in_transaction()) (void)db.exec("ROLLBACK");
}

// One step: under the write lock, read the version and apply the next script if there is one.
// Returns the version when nothing is left to do.
Result<std::optional<int>> step(Database& db, std::span<const std::string_view> migrations) {
  TOCSIN_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  auto version = read_version(db);
  if (!version) {
    rollback(db);
    return std::unexpected(std::move(version).error());
  }
  const int known = static_cast<int>(migrations.size());
  if (*version > known) {
    rollback(db);
    return std::unexpected(core::Error::failed_precondition(fmt::format(
        "database schema version {} is newer than this tocsin supports ({}); upgrade tocsin or use another "
        "data directory",
        *version, known)));
  }
  if (*version == known) {
    rollback(db);  // nothing was written
    return std::optional<int>(known);
  }
  const int next = *version + 1;
  Status applied = db.exec(migrations[static_cast<size_t>(*version)]);
  if (applied) applied = write_version(db, next);
  if (applied) applied = db.exec("COMMIT");
  if (!applied) {
    rollback(db);
    return std::unexpected(core::Error(applied.error().code(),
                                       fmt::format("schema migration {}: {}", next, applied.error().message()))
                               .retryable(applied.error().retryable()));
  }
  return std::optional<int>();
}

}  // namespace

std::span<const std::string_view> schema_migrations() { return kMigrations; }

Result<int> schema_version(Database& db) {
  auto table = TOCSIN_TRY(
      db.prepare_uncached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'"));
  if (!TOCSIN_TRY(table->step())) return 0;
  return read_version(db);
}

Result<int> migrate(Database& db, std::span<const std::string_view> migrations) {
  TOCSIN_RETURN_IF_ERROR(db.exec(kCreateVersionTable));
  while (true) {
    auto done = TOCSIN_TRY(step(db, migrations));
    if (done) return *done;
  }
}

}  // namespace tocsin::store::sqlite
