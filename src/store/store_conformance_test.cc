// The store conformance suite (store_conformance_test.h): what every store::Store implementation
// must do, run against each backend by its own test binary.
#include "store/store_conformance_test.h"

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace tocsin::store::conformance {
namespace {

using core::ErrorCode;
using core::from_unix_ms;
using ::testing::ElementsAre;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

AlertRecord full_alert() {
  AlertRecord a;
  a.fingerprint = kTopBitFingerprint;
  a.rule = "HighLoad";
  a.labels = core::Labels{{"alertname", "HighLoad"},
                          {"instance", "db-1:9100"},
                          {"quote", "say \"hi\" \\ then\nleave"},
                          {"unicode", "服务器 ☃ é 🚨"}};
  a.annotations = {{"summary", "load 0.97 on \"db-1\""}, {"runbook", "https://example.com/rb?a=1&b=2"}};
  a.state = AlertState::kFiring;
  a.value = 0.97;
  a.active_at = at(1000);
  a.fired_at = at(61000);
  a.resolved_at = at(120000);
  a.updated_at = at(120500);
  a.incident_id = std::nullopt;
  a.ends_at = at(120000);
  a.ends_at_from_timeout = true;
  a.generator_url = "http://prom:9090/graph?g0.expr=load%20%3E%200.9&tab=\"1\"&ü=☃";
  return a;
}

AlertRecord bare_alert(uint64_t fingerprint) {
  AlertRecord a;
  a.fingerprint = fingerprint;
  a.state = AlertState::kPending;
  a.value = -2.5;
  a.active_at = at(5);
  a.updated_at = at(6);
  return a;
}

Incident full_incident() {
  Incident i;
  i.title = "System crash: \"api\" down ☠";
  i.plan = "system_crash";
  i.severity = "critical";
  i.status = IncidentStatus::kMitigated;
  i.group_key = "{}:{alertname=\"HighLoad\"}";
  i.opened_at = at(0);
  i.acknowledged_at = at(60000);
  i.mitigated_at = at(120000);
  i.resolved_at = at(180000);
  i.closed_at = at(240000);
  i.escalation_policy = "ops";
  i.escalation_pass = 2;
  i.escalation_next_level = 3;
  i.escalation_next_at = at(300000);
  i.drill = "12";
  return i;
}

Incident bare_incident(std::string group_key, Timestamp opened_at) {
  Incident i;
  i.title = "incident " + group_key;
  i.severity = "major";
  i.group_key = std::move(group_key);
  i.opened_at = opened_at;
  return i;
}

Task task_named(std::string step, int ord = 0) {
  Task t;
  t.step = std::move(step);
  t.ord = ord;
  return t;
}

// Designated initializers would do, but g++ 12 warns about the members they leave out.
IncidentFilter filter(const std::function<void(IncidentFilter&)>& set) {
  IncidentFilter f;
  set(f);
  return f;
}

Notification make_notification(int64_t incident_id, Timestamp next_attempt_at) {
  Notification n;
  n.incident_id = incident_id;
  n.target = "person:alice";
  n.channel = "webhook";
  n.address = "http://127.0.0.1:9000/alice";
  n.payload = R"({"text":"incident \"1\" ☃"})";
  n.created_at = at(0);
  n.next_attempt_at = next_attempt_at;
  return n;
}

void expect_same_row(const Incident& got, const Incident& want) {
  EXPECT_EQ(got.title, want.title);
  EXPECT_EQ(got.plan, want.plan);
  EXPECT_EQ(got.severity, want.severity);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.group_key, want.group_key);
  EXPECT_EQ(got.opened_at, want.opened_at);
  EXPECT_EQ(got.acknowledged_at, want.acknowledged_at);
  EXPECT_EQ(got.mitigated_at, want.mitigated_at);
  EXPECT_EQ(got.resolved_at, want.resolved_at);
  EXPECT_EQ(got.closed_at, want.closed_at);
  EXPECT_EQ(got.escalation_policy, want.escalation_policy);
  EXPECT_EQ(got.escalation_pass, want.escalation_pass);
  EXPECT_EQ(got.escalation_next_level, want.escalation_next_level);
  EXPECT_EQ(got.escalation_next_at, want.escalation_next_at);
  EXPECT_EQ(got.drill, want.drill);
}

void expect_same(const AlertRecord& got, const AlertRecord& want) {
  EXPECT_EQ(got.fingerprint, want.fingerprint);
  EXPECT_EQ(got.rule, want.rule);
  EXPECT_EQ(got.labels, want.labels);
  EXPECT_EQ(got.annotations, want.annotations);
  EXPECT_EQ(got.state, want.state);
  if (std::isnan(want.value)) {
    EXPECT_TRUE(std::isnan(got.value));
  } else {
    EXPECT_EQ(got.value, want.value);
  }
  EXPECT_EQ(got.active_at, want.active_at);
  EXPECT_EQ(got.fired_at, want.fired_at);
  EXPECT_EQ(got.resolved_at, want.resolved_at);
  EXPECT_EQ(got.updated_at, want.updated_at);
  EXPECT_EQ(got.incident_id, want.incident_id);
  EXPECT_EQ(got.ends_at, want.ends_at);
  EXPECT_EQ(got.ends_at_from_timeout, want.ends_at_from_timeout);
  EXPECT_EQ(got.generator_url, want.generator_url);
}

core::Matcher matcher(std::string name, core::MatchOp op, std::string value) {
  auto m = core::Matcher::create(std::move(name), op, std::move(value));
  EXPECT_TRUE(m.has_value()) << m.error().to_string();
  return std::move(*m);
}

// One matcher of each operator, with values that need escaping: quotes, backslashes (a regex's
// own escapes among them), a newline, a tab and non-ASCII text.
std::vector<core::Matcher> every_kind_of_matcher() {
  return {matcher("alertname", core::MatchOp::kEqual, "High\"Load\" \\ ☃"),
          matcher("instance", core::MatchOp::kNotEqual, "db-1\nline 2\ttab"),
          matcher("job", core::MatchOp::kRegex, "api\\.v[0-9]+|web.*"),
          matcher("env", core::MatchOp::kNotRegex, "dev|\"staging\"\\\\")};
}

Silence full_silence() {
  Silence s;
  s.id = "8f2a1c3e-5b7d-4e9f-a0b1-c2d3e4f5a6b7";
  s.matchers = every_kind_of_matcher();
  s.starts_at = at(1000);
  s.ends_at = at(3601000);
  s.updated_at = at(500);
  s.created_by = "alice@example.com";
  s.comment = "maintenance of \"db-1\" ☃\nsee CHG-42";
  return s;
}

Silence bare_silence(std::string id, Timestamp ends_at) {
  Silence s;
  s.id = std::move(id);
  s.matchers = {matcher("alertname", core::MatchOp::kEqual, "A")};
  s.ends_at = ends_at;
  return s;
}

void expect_same(const Silence& got, const Silence& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.matchers.size(), want.matchers.size());
  for (size_t k = 0; k < got.matchers.size() && k < want.matchers.size(); ++k) {
    EXPECT_EQ(got.matchers[k].name(), want.matchers[k].name()) << k;
    EXPECT_EQ(got.matchers[k].op(), want.matchers[k].op()) << k;
    EXPECT_EQ(got.matchers[k].value(), want.matchers[k].value()) << k;
  }
  EXPECT_EQ(got.starts_at, want.starts_at);
  EXPECT_EQ(got.ends_at, want.ends_at);
  EXPECT_EQ(got.updated_at, want.updated_at);
  EXPECT_EQ(got.created_by, want.created_by);
  EXPECT_EQ(got.comment, want.comment);
}

NotificationLogEntry nflog_entry(std::string receiver, std::string group_key, Timestamp expires_at) {
  NotificationLogEntry e;
  e.receiver = std::move(receiver);
  e.group_key = std::move(group_key);
  e.firing = {1, 2};
  e.at = at(10);
  e.expires_at = expires_at;
  return e;
}

void expect_same(const NotificationLogEntry& got, const NotificationLogEntry& want) {
  EXPECT_EQ(got.receiver, want.receiver);
  EXPECT_EQ(got.group_key, want.group_key);
  EXPECT_EQ(got.firing, want.firing);
  EXPECT_EQ(got.resolved, want.resolved);
  EXPECT_EQ(got.at, want.at);
  EXPECT_EQ(got.expires_at, want.expires_at);
}

void expect_same(const Notification& got, const Notification& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.incident_id, want.incident_id);
  EXPECT_EQ(got.target, want.target);
  EXPECT_EQ(got.channel, want.channel);
  EXPECT_EQ(got.address, want.address);
  EXPECT_EQ(got.payload, want.payload);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.attempts, want.attempts);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.next_attempt_at, want.next_attempt_at);
  EXPECT_EQ(got.last_error, want.last_error);
}

// The status of a Result, its value dropped.
template <class T>
Status status_of(const Result<T>& result) {
  if (!result) return std::unexpected(result.error());
  return core::ok();
}

std::vector<int64_t> ids_of(const std::vector<Incident>& incidents) {
  std::vector<int64_t> ids;
  for (const auto& i : incidents) ids.push_back(i.id);
  return ids;
}

std::vector<int64_t> ids_of(const std::vector<Notification>& notifications) {
  std::vector<int64_t> ids;
  for (const auto& n : notifications) ids.push_back(n.id);
  return ids;
}

std::vector<std::string> ids_of(const std::vector<Silence>& silences) {
  std::vector<std::string> ids;
  for (const auto& s : silences) ids.push_back(s.id);
  return ids;
}

std::vector<std::string> keys_of(const std::vector<NotificationLogEntry>& entries) {
  std::vector<std::string> keys;
  for (const auto& e : entries) keys.push_back(e.receiver + "/" + e.group_key);
  return keys;
}

TEST_P(StoreTest, OpenMigratesToTheLatestVersion) {
  EXPECT_EQ(store_->schema_version(), backend_->latest_schema_version());
  EXPECT_GE(store_->schema_version(), 1);
  auto stored = backend_->query_row("SELECT version FROM schema_version");
  ASSERT_TRUE(stored.has_value()) << stored.error().to_string();
  EXPECT_THAT(*stored, ElementsAre(std::to_string(backend_->latest_schema_version())));
}

TEST_P(StoreTest, AlertRoundTripsEveryField) {
  const int64_t incident_id = insert_incident(bare_incident("g", at(0)));
  AlertRecord full = full_alert();
  full.incident_id = incident_id;
  AlertRecord bare = bare_alert(1);
  AlertRecord nan = bare_alert(std::numeric_limits<uint64_t>::max());
  nan.value = std::numeric_limits<double>::quiet_NaN();
  AlertRecord infinite = bare_alert(0);
  infinite.value = std::numeric_limits<double>::infinity();
  write([&](Tx& tx) {
    for (const auto* a : {&full, &bare, &nan, &infinite}) EXPECT_TRUE(tx.upsert_alert(*a).has_value());
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    for (const auto* want : {&full, &bare, &nan, &infinite}) {
      auto got = TOCSIN_TRY(tx.get_alert(want->fingerprint));
      EXPECT_TRUE(got.has_value()) << core::fingerprint_hex(want->fingerprint);
      if (got) expect_same(*got, *want);
    }
    EXPECT_FALSE(TOCSIN_TRY(tx.get_alert(42)).has_value());
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, UpsertAlertReplacesEveryField) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(full_alert()).has_value()); });
  AlertRecord changed = bare_alert(kTopBitFingerprint);  // same key, every other field different
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(changed).has_value()); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto all = TOCSIN_TRY(tx.list_alerts(std::nullopt));
    EXPECT_EQ(all.size(), 1u);
    if (!all.empty()) expect_same(all[0], changed);
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, ListAlertsFiltersByState) {
  AlertRecord pending = bare_alert(1);
  AlertRecord firing = bare_alert(2);
  firing.state = AlertState::kFiring;
  firing.active_at = at(1);
  AlertRecord firing_later = bare_alert(3);
  firing_later.state = AlertState::kFiring;
  firing_later.active_at = at(2);
  write([&](Tx& tx) {
    for (const auto* a : {&firing_later, &pending, &firing}) EXPECT_TRUE(tx.upsert_alert(*a).has_value());
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto firing_only = TOCSIN_TRY(tx.list_alerts(AlertState::kFiring));
    EXPECT_EQ(firing_only.size(), 2u);
    if (firing_only.size() == 2) {  // ordered by active_at
      EXPECT_EQ(firing_only[0].fingerprint, 2u);
      EXPECT_EQ(firing_only[1].fingerprint, 3u);
    }
    EXPECT_EQ(TOCSIN_TRY(tx.list_alerts(AlertState::kPending)).size(), 1u);
    EXPECT_TRUE(TOCSIN_TRY(tx.list_alerts(AlertState::kResolved)).empty());
    EXPECT_EQ(TOCSIN_TRY(tx.list_alerts(std::nullopt)).size(), 3u);
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, LabelsThatAreNotUtf8AreRejected) {
  AlertRecord a = bare_alert(9);
  a.labels = core::Labels{{"job", "\xff\xfe"}};
  auto status = store_->write([&](Tx& tx) { return tx.upsert_alert(a); });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().message(), HasSubstr("upsert_alert"));
}

TEST_P(StoreTest, DeleteResolvedAlertsDeletesOnlyOldOnesOutsideIncidents) {
  const int64_t incident = insert_incident(bare_incident("g", at(0)));
  auto resolved = [](uint64_t fingerprint, Timestamp updated_at) {
    AlertRecord a = bare_alert(fingerprint);
    a.state = AlertState::kResolved;
    a.updated_at = updated_at;
    return a;
  };
  AlertRecord old_one = resolved(1, at(100));
  AlertRecord old_top_bit = resolved(kTopBitFingerprint, at(199));
  AlertRecord at_cutoff = resolved(3, at(200));  // not strictly before: kept
  AlertRecord recent = resolved(4, at(300));
  AlertRecord in_incident = resolved(5, at(100));
  in_incident.incident_id = incident;
  AlertRecord firing = bare_alert(6);
  firing.state = AlertState::kFiring;
  firing.updated_at = at(100);
  AlertRecord pending = bare_alert(7);
  pending.updated_at = at(100);
  write([&](Tx& tx) {
    for (const auto* a : {&old_one, &old_top_bit, &at_cutoff, &recent, &in_incident, &firing, &pending}) {
      EXPECT_TRUE(tx.upsert_alert(*a).has_value());
    }
  });

  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_resolved_alerts(at(200))), 2); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    std::vector<uint64_t> left;
    for (const auto& a : TOCSIN_TRY(tx.list_alerts(std::nullopt))) left.push_back(a.fingerprint);
    EXPECT_THAT(left, ::testing::UnorderedElementsAre(3u, 4u, 5u, 6u, 7u));
    return core::ok();
  }).has_value());
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_resolved_alerts(at(200))), 0); });
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_resolved_alerts(at(1000))), 2); });  // 3 and 4
}

TEST_P(StoreTest, SilenceRoundTripsEveryField) {
  const Silence full = full_silence();
  const Silence bare = bare_silence("b", at(0));
  const Silence no_matchers = [] {
    Silence s = bare_silence("c", at(0));
    s.matchers.clear();
    return s;
  }();
  write([&](Tx& tx) {
    for (const auto* s : {&full, &bare, &no_matchers}) EXPECT_TRUE(tx.upsert_silence(*s).has_value());
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    for (const auto* want : {&full, &bare, &no_matchers}) {
      auto got = TOCSIN_TRY(tx.get_silence(want->id));
      EXPECT_TRUE(got.has_value()) << want->id;
      if (got) expect_same(*got, *want);
    }
    EXPECT_FALSE(TOCSIN_TRY(tx.get_silence("missing")).has_value());
    return core::ok();
  }).has_value());

  // The matchers read back still match, regexes included.
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto got = TOCSIN_TRY(tx.get_silence(full.id));
    EXPECT_TRUE(got.has_value());
    if (!got) return core::ok();
    const core::Labels muted{{"alertname", "High\"Load\" \\ ☃"}, {"job", "api.v2"}, {"env", "prod"}};
    EXPECT_TRUE(core::matches_all(got->matchers, muted));
    const core::Labels staging{{"alertname", "High\"Load\" \\ ☃"}, {"job", "api.v2"}, {"env", "\"staging\"\\"}};
    EXPECT_FALSE(core::matches_all(got->matchers, staging));
    const core::Labels other_job{{"alertname", "High\"Load\" \\ ☃"}, {"job", "apixv2"}, {"env", "prod"}};
    EXPECT_FALSE(core::matches_all(got->matchers, other_job));
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, UpsertSilenceReplacesEveryField) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_silence(full_silence()).has_value()); });
  Silence changed = bare_silence(full_silence().id, at(42));  // same id, every other field different
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_silence(changed).has_value()); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto all = TOCSIN_TRY(tx.list_silences());
    EXPECT_EQ(all.size(), 1u);
    if (!all.empty()) expect_same(all[0], changed);
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, ListSilencesIsOrderedById) {
  write([&](Tx& tx) {
    for (const char* id : {"c", "a", "b"}) EXPECT_TRUE(tx.upsert_silence(bare_silence(id, at(0))).has_value());
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.list_silences())), ElementsAre("a", "b", "c"));
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, DeleteExpiredSilencesDeletesOnlyThoseEndedBefore) {
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.upsert_silence(bare_silence("ended", at(100))).has_value());
    EXPECT_TRUE(tx.upsert_silence(bare_silence("ended-too", at(199))).has_value());
    EXPECT_TRUE(tx.upsert_silence(bare_silence("at-cutoff", at(200))).has_value());
    EXPECT_TRUE(tx.upsert_silence(bare_silence("active", at(5000))).has_value());
  });
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_expired_silences(at(200))), 2); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.list_silences())), ElementsAre("active", "at-cutoff"));
    return core::ok();
  }).has_value());
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_expired_silences(at(200))), 0); });
}

// What replicas compare to notice a silence another one wrote: every kind of change moves it, a
// read changes nothing, and a second process on the same database sees the same value.
TEST_P(StoreTest, SilencesVersionChangesWithEverySilenceWrite) {
  auto version = [&](Store& store) {
    std::string v;
    auto status = store.read([&](Tx& tx) -> Status {
      v = TOCSIN_TRY(tx.silences_version());
      return core::ok();
    });
    EXPECT_TRUE(status.has_value()) << status.error().to_string();
    return v;
  };
  std::vector<std::string> seen{version(*store_)};
  EXPECT_EQ(version(*store_), seen.back()) << "a read changed it";
  auto expect_new = [&](const char* what) {
    const std::string v = version(*store_);
    EXPECT_THAT(seen, ::testing::Not(::testing::Contains(v))) << what;
    seen.push_back(v);
  };
  Silence a = bare_silence("a", at(5000));
  a.updated_at = at(100);
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_silence(a).has_value()); });
  expect_new("created");
  Silence b = bare_silence("b", at(9000));
  b.updated_at = at(50);  // older than a's: the count still moves
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_silence(b).has_value()); });
  expect_new("a second one created");
  b.comment = "longer";
  b.ends_at = at(9500);
  b.updated_at = at(60);  // still not the latest update
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_silence(b).has_value()); });
  expect_new("updated in place");
  a.ends_at = at(200);  // expired
  a.updated_at = at(200);
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_silence(a).has_value()); });
  expect_new("expired");
  // A silence read inside a write transaction sees that transaction's own write.
  write([&](Tx& tx) {
    const std::string before = value_of(tx.silences_version());
    EXPECT_EQ(value_of(tx.delete_expired_silences(at(300))), 1);
    EXPECT_NE(value_of(tx.silences_version()), before);
  });
  expect_new("deleted");
  auto other = backend_->open();
  ASSERT_TRUE(other.has_value()) << other.error().to_string();
  EXPECT_EQ(version(**other), seen.back());
}

TEST_P(StoreTest, NflogRoundTripsEveryFieldWithFullWidthFingerprints) {
  NotificationLogEntry full;
  full.receiver = "ops \"hook\" ☃";
  full.group_key = "{}/{severity=\"critical\"}:{alertname=\"HighLoad\"}";
  full.firing = {0, 1, (uint64_t{1} << 63) + 1, kTopBitFingerprint, std::numeric_limits<uint64_t>::max()};
  full.resolved = {(uint64_t{1} << 53) + 1, kTopBitFingerprint - 1};
  full.at = at(1000);
  full.expires_at = at(1000 + 120LL * 3600 * 1000);
  NotificationLogEntry empty = nflog_entry("r", "g", at(5));
  empty.firing.clear();
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.upsert_nflog(full).has_value());
    EXPECT_TRUE(tx.upsert_nflog(empty).has_value());
    // Same group key, another receiver: a separate entry.
    EXPECT_TRUE(tx.upsert_nflog(nflog_entry("other", full.group_key, at(5))).has_value());
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    for (const auto* want : {&full, &empty}) {
      auto got = TOCSIN_TRY(tx.get_nflog(want->receiver, want->group_key));
      EXPECT_TRUE(got.has_value()) << want->receiver;
      if (got) expect_same(*got, *want);
    }
    EXPECT_FALSE(TOCSIN_TRY(tx.get_nflog("r", "missing")).has_value());
    EXPECT_FALSE(TOCSIN_TRY(tx.get_nflog("missing", "g")).has_value());
    return core::ok();
  }).has_value());

  // On disk the fingerprints are decimal strings, so no JSON reader rounds them.
  auto row = backend_->query_row("SELECT firing, resolved FROM nflog WHERE group_key LIKE '{}/%' AND receiver <> 'other'");
  ASSERT_TRUE(row.has_value()) << row.error().to_string();
  EXPECT_THAT(*row, ElementsAre(R"(["0","1","9223372036854775809","18364758544493064720","18446744073709551615"])",
                                R"(["9007199254740993","18364758544493064719"])"));
}

TEST_P(StoreTest, UpsertNflogReplacesEveryField) {
  NotificationLogEntry first = nflog_entry("r", "g", at(100));
  first.resolved = {9};
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_nflog(first).has_value()); });
  NotificationLogEntry second = nflog_entry("r", "g", at(900));
  second.firing = {kTopBitFingerprint};
  second.resolved.clear();
  second.at = at(800);
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_nflog(second).has_value()); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto all = TOCSIN_TRY(tx.list_nflog());
    EXPECT_EQ(all.size(), 1u);
    if (!all.empty()) expect_same(all[0], second);
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, ListNflogIsOrderedByReceiverThenGroupKey) {
  write([&](Tx& tx) {
    for (auto [receiver, group_key] : {std::pair{"b", "1"}, std::pair{"a", "2"}, std::pair{"a", "1"}}) {
      EXPECT_TRUE(tx.upsert_nflog(nflog_entry(receiver, group_key, at(0))).has_value());
    }
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_THAT(keys_of(TOCSIN_TRY(tx.list_nflog())), ElementsAre("a/1", "a/2", "b/1"));
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, DeleteExpiredNflogDeletesThoseExpiredAtOrBeforeNow) {
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.upsert_nflog(nflog_entry("r", "expired", at(100))).has_value());
    EXPECT_TRUE(tx.upsert_nflog(nflog_entry("r", "at-now", at(200))).has_value());  // expires_at <= now: gone
    EXPECT_TRUE(tx.upsert_nflog(nflog_entry("r", "live", at(201))).has_value());
  });
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_expired_nflog(at(200))), 2); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_THAT(keys_of(TOCSIN_TRY(tx.list_nflog())), ElementsAre("r/live"));
    return core::ok();
  }).has_value());
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_expired_nflog(at(200))), 0); });
}

TEST_P(StoreTest, CorruptSilencesAndNflogAreInternalErrors) {
  store_.reset();
  {
    ASSERT_TRUE(backend_->exec(R"sql(
      INSERT INTO silences (id, matchers, starts_at, ends_at, updated_at, created_by, comment)
        VALUES ('bad', '["not a matcher"]', 0, 0, 0, '', '');
      INSERT INTO nflog (receiver, group_key, firing, resolved, at, expires_at)
        VALUES ('r', 'too-big', '["18446744073709551616"]', '[]', 0, 0),
               ('r', 'number', '[]', '[12]', 0, 0);
    )sql").has_value());
  }
  reopen();
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto silence = tx.get_silence("bad");
    EXPECT_FALSE(silence.has_value());
    if (!silence) {
      EXPECT_EQ(silence.error().code(), ErrorCode::kInternal);
      EXPECT_THAT(silence.error().message(), HasSubstr("corrupt silence \"bad\" matchers"));
    }
    EXPECT_FALSE(tx.list_silences().has_value());
    auto too_big = tx.get_nflog("r", "too-big");
    EXPECT_FALSE(too_big.has_value());
    if (!too_big) {
      EXPECT_EQ(too_big.error().code(), ErrorCode::kInternal);
      EXPECT_THAT(too_big.error().message(), HasSubstr("\"18446744073709551616\" is not a decimal uint64"));
    }
    auto number = tx.get_nflog("r", "number");
    EXPECT_FALSE(number.has_value());
    if (!number) {
      EXPECT_THAT(number.error().message(), HasSubstr("resolved"));
    }
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, IncidentRoundTripsEveryField) {
  const Incident full = full_incident();
  const Incident bare = bare_incident("bare", at(7));  // every optional empty, plan empty
  const int64_t full_id = insert_incident(full);
  const int64_t bare_id = insert_incident(bare);
  EXPECT_GT(full_id, 0);
  EXPECT_GT(bare_id, full_id);

  auto got_full = get_incident(full_id);
  ASSERT_TRUE(got_full.has_value());
  EXPECT_EQ(got_full->id, full_id);
  expect_same_row(*got_full, full);
  auto got_bare = get_incident(bare_id);
  ASSERT_TRUE(got_bare.has_value());
  EXPECT_EQ(got_bare->id, bare_id);
  expect_same_row(*got_bare, bare);
  EXPECT_TRUE(got_bare->alerts.empty());
  EXPECT_TRUE(got_bare->tasks.empty());
  EXPECT_TRUE(got_bare->timeline.empty());

  EXPECT_FALSE(get_incident(bare_id + 100).has_value());
}

TEST_P(StoreTest, UpdateIncidentWritesEveryColumn) {
  const int64_t id = insert_incident(full_incident());
  Incident changed = bare_incident("other", at(99));
  changed.id = id;
  changed.status = IncidentStatus::kClosed;
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_incident(changed).has_value()); });
  auto got = get_incident(id);
  ASSERT_TRUE(got.has_value());
  expect_same_row(*got, changed);  // the optionals were cleared, too

  Incident full = full_incident();
  full.id = id;
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_incident(full).has_value()); });
  got = get_incident(id);
  ASSERT_TRUE(got.has_value());
  expect_same_row(*got, full);
}

TEST_P(StoreTest, UpdatesOfMissingRowsAreNotFound) {
  Incident missing = full_incident();
  missing.id = 12345;
  auto status = store_->write([&](Tx& tx) { return tx.update_incident(missing); });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(status.error().message(), HasSubstr("incident 12345"));

  const int64_t id = insert_incident(bare_incident("g", at(0)));
  Task task;
  task.step = "nope";
  status = store_->write([&](Tx& tx) { return tx.update_task(id, task); });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(status.error().message(), HasSubstr("\"nope\""));

  Notification n = make_notification(id, at(0));
  n.id = 777;
  status = store_->write([&](Tx& tx) { return tx.update_notification(n); });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, NotFoundInsideATransactionDoesNotAbortIt) {
  // A caller may try an update and fall back to an insert; not_found is an answer, not a failure.
  int64_t id = 0;
  write([&](Tx& tx) {
    Incident missing = bare_incident("g", at(0));
    missing.id = 999;
    EXPECT_EQ(tx.update_incident(missing).error().code(), ErrorCode::kNotFound);
    id = value_of(tx.insert_incident(bare_incident("g", at(0))));
  });
  EXPECT_TRUE(get_incident(id).has_value());
}

TEST_P(StoreTest, IncidentDetailsRoundTripInOrder) {
  const int64_t id = insert_incident(full_incident());
  const int64_t other = insert_incident(bare_incident("other", at(0)));

  IncidentAlert second{.fingerprint = kTopBitFingerprint,
                       .labels = core::Labels{{"alertname", "B"}, {"msg", "“quoted” \"x\""}},
                       .status = AlertState::kFiring,
                       .added_at = at(2000)};
  IncidentAlert first{.fingerprint = 5, .labels = core::Labels{{"alertname", "A"}}, .status = AlertState::kFiring,
                      .added_at = at(1000)};
  Task later{.step = "recover", .ord = 2, .title = "Restore", .owner = "operations", .assignee = "",
             .due_at = at(7200000), .status = TaskStatus::kOpen, .done_at = std::nullopt, .done_by = "",
             .overdue_at = std::nullopt};
  Task earlier{.step = "triage", .ord = 1, .title = "Check servers ☃", .owner = "operations",
               .assignee = "bob", .due_at = at(900000), .status = TaskStatus::kDone, .done_at = at(600000),
               .done_by = "bob", .overdue_at = std::nullopt};
  std::vector<int64_t> event_ids;
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.upsert_incident_alert(id, second).has_value());
    EXPECT_TRUE(tx.upsert_incident_alert(id, first).has_value());
    EXPECT_TRUE(tx.upsert_incident_alert(other, first).has_value());
    EXPECT_TRUE(tx.insert_task(id, later).has_value());
    EXPECT_TRUE(tx.insert_task(id, earlier).has_value());
    EXPECT_TRUE(tx.insert_task(other, later).has_value());
    for (int k = 0; k < 3; ++k) {
      TimelineEvent e{.id = 0, .incident_id = id, .at = at(k == 1 ? 0 : 10 * k), .kind = "note",
                      .actor = "alice", .detail = fmt::format("note {} \"ü\"", k)};
      event_ids.push_back(value_of(tx.append_timeline(e)));
    }
    EXPECT_TRUE(tx.append_timeline({.id = 0, .incident_id = other, .at = at(0), .kind = "opened",
                                    .actor = "tocsin", .detail = ""})
                    .has_value());
  });
  ASSERT_EQ(event_ids.size(), 3u);
  EXPECT_LT(event_ids[0], event_ids[1]);
  EXPECT_LT(event_ids[1], event_ids[2]);

  auto got = get_incident(id);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->alerts.size(), 2u);  // by added_at
  EXPECT_EQ(got->alerts[0].fingerprint, first.fingerprint);
  EXPECT_EQ(got->alerts[0].labels, first.labels);
  EXPECT_EQ(got->alerts[0].added_at, first.added_at);
  EXPECT_EQ(got->alerts[1].fingerprint, kTopBitFingerprint);
  EXPECT_EQ(got->alerts[1].labels, second.labels);
  EXPECT_EQ(got->alerts[1].status, AlertState::kFiring);
  EXPECT_EQ(got->alerts[1].added_at, second.added_at);

  ASSERT_EQ(got->tasks.size(), 2u);  // by ord
  for (const auto& [have, want] : {std::pair{got->tasks[0], earlier}, std::pair{got->tasks[1], later}}) {
    EXPECT_EQ(have.step, want.step);
    EXPECT_EQ(have.ord, want.ord);
    EXPECT_EQ(have.title, want.title);
    EXPECT_EQ(have.owner, want.owner);
    EXPECT_EQ(have.assignee, want.assignee);
    EXPECT_EQ(have.due_at, want.due_at);
    EXPECT_EQ(have.status, want.status);
    EXPECT_EQ(have.done_at, want.done_at);
    EXPECT_EQ(have.done_by, want.done_by);
  }

  ASSERT_EQ(got->timeline.size(), 3u);  // by id, whatever `at` says
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(got->timeline[k].id, event_ids[k]);
    EXPECT_EQ(got->timeline[k].incident_id, id);
    EXPECT_EQ(got->timeline[k].at, at(k == 1 ? 0 : 10 * static_cast<int64_t>(k)));
    EXPECT_EQ(got->timeline[k].kind, "note");
    EXPECT_EQ(got->timeline[k].actor, "alice");
    EXPECT_EQ(got->timeline[k].detail, fmt::format("note {} \"ü\"", k));
  }
}

TEST_P(StoreTest, UpsertIncidentAlertUpdatesStatusAndKeepsAddedAt) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  IncidentAlert a{.fingerprint = 1, .labels = core::Labels{{"a", "1"}}, .status = AlertState::kFiring,
                  .added_at = at(100)};
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_incident_alert(id, a).has_value()); });
  a.status = AlertState::kResolved;
  a.labels = core::Labels{{"a", "2"}};
  a.added_at = at(500);
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_incident_alert(id, a).has_value()); });
  auto got = get_incident(id);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->alerts.size(), 1u);
  EXPECT_EQ(got->alerts[0].status, AlertState::kResolved);
  EXPECT_EQ(got->alerts[0].labels, a.labels);
  EXPECT_EQ(got->alerts[0].added_at, at(100));
}

TEST_P(StoreTest, UpdateTaskWritesEveryColumn) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  Task task{.step = "triage", .ord = 1, .title = "t", .owner = "ops", .assignee = "bob", .due_at = at(10),
            .status = TaskStatus::kOpen, .done_at = std::nullopt, .done_by = "", .overdue_at = std::nullopt};
  write([&](Tx& tx) { EXPECT_TRUE(tx.insert_task(id, task).has_value()); });
  Task done{.step = "triage", .ord = 4, .title = "t2", .owner = "commander", .assignee = "",
            .due_at = at(20), .status = TaskStatus::kSkipped, .done_at = at(15), .done_by = "carol",
            .overdue_at = at(21)};
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_task(id, done).has_value()); });
  auto got = get_incident(id);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->tasks.size(), 1u);
  const Task& t = got->tasks[0];
  EXPECT_EQ(t.ord, 4);
  EXPECT_EQ(t.title, "t2");
  EXPECT_EQ(t.owner, "commander");
  EXPECT_EQ(t.assignee, "");
  EXPECT_EQ(t.due_at, at(20));
  EXPECT_EQ(t.status, TaskStatus::kSkipped);
  EXPECT_EQ(t.done_at, at(15));
  EXPECT_EQ(t.done_by, "carol");
}

TEST_P(StoreTest, ConstraintViolationsAreErrorsAndRollBack) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  Task task = task_named("triage");
  write([&](Tx& tx) { EXPECT_TRUE(tx.insert_task(id, task).has_value()); });

  auto duplicate = store_->write([&](Tx& tx) { return tx.insert_task(id, task); });
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(duplicate.error().message(), HasSubstr("insert_task"));
  // Each backend words it its own way (SQLite, PostgreSQL).
  EXPECT_THAT(duplicate.error().message(), ContainsRegex("UNIQUE constraint failed|violates unique constraint"));

  // Foreign keys are on: a task of an incident that does not exist is refused.
  auto orphan = store_->write([&](Tx& tx) { return tx.insert_task(id + 1000, task); });
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(orphan.error().message(), ContainsRegex("FOREIGN KEY|violates foreign key constraint"));

  // A statement that failed aborts the whole transaction even when fn ignores the error.
  int64_t second = 0;
  auto ignored = store_->write([&](Tx& tx) -> Status {
    second = TOCSIN_TRY(tx.insert_incident(bare_incident("h", at(1))));
    (void)tx.insert_task(id, task);  // duplicate, ignored
    return core::ok();
  });
  ASSERT_FALSE(ignored.has_value());
  EXPECT_EQ(ignored.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(get_incident(second).has_value());
}

// The escalator keys each page by its escalation step; a second page for the same step fails,
// and the transaction it was in leaves nothing behind. Notifications without a key never clash.
TEST_P(StoreTest, ADuplicateDedupKeyIsAnErrorThatRollsBack) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  Notification page = make_notification(id, at(0));
  page.dedup_key = "inc:1/pass:1/level:1/person:alice/webhook/http://127.0.0.1:9000/alice";
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.insert_notification(page).has_value());
    EXPECT_TRUE(tx.insert_notification(make_notification(id, at(0))).has_value());
    EXPECT_TRUE(tx.insert_notification(make_notification(id, at(0))).has_value());
  });

  auto again = store_->write([&](Tx& tx) -> Status {
    TOCSIN_RETURN_IF_ERROR(tx.append_timeline({.id = 0, .incident_id = id, .at = at(1), .kind = "escalated",
                                              .actor = "tocsin", .detail = "again"}));
    TOCSIN_TRY(tx.insert_notification(make_notification(id, at(1))));
    TOCSIN_TRY(tx.insert_notification(page));
    return core::ok();
  });
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(again.error().message(),
              ContainsRegex("UNIQUE constraint failed: notifications.dedup_key|unique constraint \"notifications_dedup\""));
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    const auto listed = TOCSIN_TRY(tx.list_notifications(id));
    EXPECT_EQ(listed.size(), 3u) << "the whole transaction rolled back";
    EXPECT_EQ(listed.at(0).dedup_key, page.dedup_key);
    EXPECT_EQ(listed.at(1).dedup_key, "");
    const auto incident = TOCSIN_TRY(tx.get_incident(id));
    EXPECT_TRUE(incident->timeline.empty());
    return core::ok();
  }).has_value());
}

// A notification's id is never given twice, not even one from a transaction that rolled back: a
// page can leave before its transaction's COMMIT (Deliverer::send_before_commit), and receivers
// drop a repeated X-Tocsin-Notification-Id as a copy.
TEST_P(StoreTest, ANotificationIdIsNeverGivenTwiceNotEvenARolledBackOne) {
  const int64_t incident = insert_incident(bare_incident("ids", at(0)));
  int64_t first = 0;
  int64_t rolled_back = 0;
  int64_t next = 0;
  write([&](Tx& tx) { first = tx.insert_notification(make_notification(incident, at(0))).value(); });
  auto failed = store_->write([&](Tx& tx) -> Status {
    rolled_back = TOCSIN_TRY(tx.insert_notification(make_notification(incident, at(0))));
    return std::unexpected(core::Error::internal("rolled back by the test"));
  });
  ASSERT_FALSE(failed.has_value());
  write([&](Tx& tx) { next = tx.insert_notification(make_notification(incident, at(0))).value(); });
  EXPECT_GT(rolled_back, first);
  EXPECT_GT(next, rolled_back) << "the rolled-back notification's id was given again";
}

TEST_P(StoreTest, WriteRollsBackEverythingWhenFnFails) {
  const int64_t kept = insert_incident(bare_incident("kept", at(0)));
  int64_t doomed = 0;
  auto status = store_->write([&](Tx& tx) -> Status {
    doomed = TOCSIN_TRY(tx.insert_incident(bare_incident("doomed", at(1))));
    TOCSIN_RETURN_IF_ERROR(tx.append_timeline({.id = 0, .incident_id = doomed, .at = at(1), .kind = "opened",
                                              .actor = "tocsin", .detail = ""}));
    TOCSIN_RETURN_IF_ERROR(tx.upsert_alert(bare_alert(77)));
    TOCSIN_RETURN_IF_ERROR(tx.insert_notification(make_notification(doomed, at(0))));
    Incident kept_changed = bare_incident("changed", at(5));
    kept_changed.id = kept;
    TOCSIN_RETURN_IF_ERROR(tx.update_incident(kept_changed));
    return std::unexpected(core::Error::failed_precondition("changed my mind"));
  });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(status.error().message(), "changed my mind");

  EXPECT_FALSE(get_incident(doomed).has_value());
  auto got_kept = get_incident(kept);
  ASSERT_TRUE(got_kept.has_value());
  EXPECT_EQ(got_kept->group_key, "kept");
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_FALSE(TOCSIN_TRY(tx.get_alert(77)).has_value());
    EXPECT_TRUE(TOCSIN_TRY(tx.list_notifications(doomed)).empty());
    EXPECT_FALSE(TOCSIN_TRY(tx.next_notification_due()).has_value());
    return core::ok();
  }).has_value());

  // The store is usable afterwards.
  EXPECT_GT(insert_incident(bare_incident("after", at(2))), kept);
}

TEST_P(StoreTest, DataSurvivesCloseAndReopen) {
  const int64_t id = insert_incident(full_incident());
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.upsert_alert(full_alert()).has_value());
    EXPECT_TRUE(tx.insert_task(id, task_named("s", 1)).has_value());
    EXPECT_TRUE(tx.append_timeline({.id = 0, .incident_id = id, .at = at(3), .kind = "opened", .actor = "tocsin",
                                    .detail = "d"})
                    .has_value());
  });
  reopen();
  EXPECT_EQ(store_->schema_version(), backend_->latest_schema_version());
  auto got = get_incident(id);
  ASSERT_TRUE(got.has_value());
  expect_same_row(*got, full_incident());
  EXPECT_EQ(got->tasks.size(), 1u);
  EXPECT_EQ(got->timeline.size(), 1u);
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto alert = TOCSIN_TRY(tx.get_alert(kTopBitFingerprint));
    EXPECT_TRUE(alert.has_value());
    if (alert) expect_same(*alert, full_alert());
    return core::ok();
  }).has_value());
  // Ids keep growing after a reopen.
  EXPECT_GT(insert_incident(bare_incident("next", at(0))), id);
}

TEST_P(StoreTest, NewerSchemaIsRefused) {
  store_.reset();
  ASSERT_TRUE(backend_->exec("UPDATE schema_version SET version = version + 1").has_value());
  auto opened = backend_->open();
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kFailedPrecondition);
  const int known = backend_->latest_schema_version();
  EXPECT_THAT(opened.error().message(), HasSubstr(backend_->where()));
  EXPECT_THAT(opened.error().message(),
              HasSubstr(fmt::format("schema version {} is newer than this tocsin supports ({})", known + 1, known)));
}

TEST_P(StoreTest, ListIncidentsNewestFirstWithFilters) {
  Incident a = bare_incident("a", at(1000));
  a.plan = "system_crash";
  Incident b = bare_incident("b", at(3000));
  b.plan = "data_breach";
  b.status = IncidentStatus::kResolved;
  Incident c = bare_incident("c", at(2000));
  c.plan = "system_crash";
  Incident d = bare_incident("d", at(3000));  // same opened_at as b: the larger id comes first
  const int64_t ia = insert_incident(a);
  const int64_t ib = insert_incident(b);
  const int64_t ic = insert_incident(c);
  const int64_t id = insert_incident(d);
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.append_timeline({.id = 0, .incident_id = ic, .at = at(0), .kind = "opened", .actor = "tocsin",
                                    .detail = ""})
                    .has_value());
  });

  EXPECT_THAT(ids_of(list({})), ElementsAre(id, ib, ic, ia));
  EXPECT_THAT(ids_of(list(filter([](auto& f) { f.status = IncidentStatus::kResolved; }))), ElementsAre(ib));
  EXPECT_THAT(ids_of(list(filter([](auto& f) { f.status = IncidentStatus::kTriggered; }))), ElementsAre(id, ic, ia));
  EXPECT_THAT(ids_of(list(filter([](auto& f) { f.plan = "system_crash"; }))), ElementsAre(ic, ia));
  EXPECT_THAT(ids_of(list(filter([](auto& f) { f.since = at(2000); }))), ElementsAre(id, ib, ic));
  EXPECT_THAT(ids_of(list(filter([](auto& f) { f.until = at(3000); }))), ElementsAre(ic, ia));  // before, not at
  EXPECT_THAT(ids_of(list(filter([](auto& f) {
                f.since = at(1500);
                f.until = at(3001);
              }))),
              ElementsAre(id, ib, ic));
  EXPECT_THAT(ids_of(list(filter([](auto& f) { f.limit = 2; }))), ElementsAre(id, ib));
  EXPECT_TRUE(list(filter([](auto& f) { f.limit = 0; })).empty());
  EXPECT_THAT(ids_of(list(filter([](auto& f) {
                f.status = IncidentStatus::kTriggered;
                f.plan = "system_crash";
                f.since = at(1500);
              }))),
              ElementsAre(ic));

  auto without = list(filter([](auto& f) { f.plan = "system_crash"; }));
  ASSERT_EQ(without.size(), 2u);
  EXPECT_TRUE(without[0].timeline.empty());
  expect_same_row(without[0], c);
  auto with = list(filter([](auto& f) {
    f.plan = "system_crash";
    f.with_details = true;
  }));
  ASSERT_EQ(with.size(), 2u);
  EXPECT_EQ(with[0].timeline.size(), 1u);
  EXPECT_TRUE(with[1].timeline.empty());

  auto negative = store_->read([&](Tx& tx) -> Status { return status_of(tx.list_incidents(filter([](auto& f) { f.limit = -1; }))); });
  ASSERT_FALSE(negative.has_value());
  EXPECT_EQ(negative.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(StoreTest, FindOpenIncidentSkipsResolvedAndClosed) {
  Incident old_open = bare_incident("g", at(0));
  Incident newer_open = bare_incident("g", at(10));
  newer_open.status = IncidentStatus::kAcknowledged;
  Incident resolved = bare_incident("g", at(20));
  resolved.status = IncidentStatus::kResolved;
  Incident closed = bare_incident("g", at(30));
  closed.status = IncidentStatus::kClosed;
  Incident other_key = bare_incident("h", at(40));
  insert_incident(old_open);
  const int64_t newer_id = insert_incident(newer_open);
  insert_incident(resolved);
  insert_incident(closed);
  insert_incident(other_key);
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.insert_task(newer_id, task_named("s")).has_value());
    Incident only_closed = bare_incident("z", at(0));
    only_closed.status = IncidentStatus::kClosed;
    EXPECT_TRUE(tx.insert_incident(only_closed).has_value());
  });

  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto found = TOCSIN_TRY(tx.find_open_incident("g"));
    EXPECT_TRUE(found.has_value());
    if (found) {
      EXPECT_EQ(found->id, newer_id);
      EXPECT_EQ(found->tasks.size(), 1u);  // with details, like get_incident
    }
    EXPECT_FALSE(TOCSIN_TRY(tx.find_open_incident("z")).has_value());
    EXPECT_FALSE(TOCSIN_TRY(tx.find_open_incident("nobody")).has_value());
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, EscalationDueRespectsNowStatusAndOrder) {
  auto with_next = [](std::string key, IncidentStatus status, std::optional<Timestamp> next) {
    Incident i = bare_incident(std::move(key), at(0));
    i.status = status;
    i.escalation_policy = "ops";
    i.escalation_next_at = next;
    return i;
  };
  const int64_t late = insert_incident(with_next("late", IncidentStatus::kTriggered, at(500)));
  const int64_t early = insert_incident(with_next("early", IncidentStatus::kTriggered, at(100)));
  const int64_t tie = insert_incident(with_next("tie", IncidentStatus::kTriggered, at(100)));
  insert_incident(with_next("acked", IncidentStatus::kAcknowledged, at(50)));
  insert_incident(with_next("done", IncidentStatus::kTriggered, std::nullopt));
  const int64_t future = insert_incident(with_next("future", IncidentStatus::kTriggered, at(10000)));

  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_TRUE(TOCSIN_TRY(tx.incidents_due_for_escalation(at(99), 10)).empty());
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.incidents_due_for_escalation(at(100), 10))), ElementsAre(early, tie));
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.incidents_due_for_escalation(at(500), 10))), ElementsAre(early, tie, late));
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.incidents_due_for_escalation(at(1000000), 10))),
                ElementsAre(early, tie, late, future));
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.incidents_due_for_escalation(at(1000000), 2))), ElementsAre(early, tie));
    EXPECT_EQ(TOCSIN_TRY(tx.next_escalation_due()), at(100));  // the acknowledged one's 50 does not count
    return core::ok();
  }).has_value());

  write([&](Tx& tx) {
    for (int64_t id : {early, tie, late, future}) {
      auto incident = value_of(tx.get_incident(id));
      ASSERT_TRUE(incident.has_value());
      incident->escalation_next_at.reset();
      EXPECT_TRUE(tx.update_incident(*incident).has_value());
    }
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_FALSE(TOCSIN_TRY(tx.next_escalation_due()).has_value());
    EXPECT_TRUE(TOCSIN_TRY(tx.incidents_due_for_escalation(at(1000000), 10)).empty());
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, NotificationsRoundTripAndComeDueInOrder) {
  const int64_t incident = insert_incident(bare_incident("g", at(0)));
  Notification later = make_notification(incident, at(300));
  Notification sooner = make_notification(incident, at(100));
  sooner.attempts = 2;
  sooner.last_error = "connection refused: \"127.0.0.1\"";
  Notification tie = make_notification(incident, at(100));
  Notification sent = make_notification(incident, at(0));
  sent.status = NotificationStatus::kSent;
  Notification failed = make_notification(incident, at(0));
  failed.status = NotificationStatus::kFailed;
  Notification no_incident = make_notification(0, at(200));  // a notify-only route
  no_incident.target = "channel:ops-hook";
  write([&](Tx& tx) {
    for (auto* n : {&later, &sooner, &tie, &sent, &failed, &no_incident}) n->id = value_of(tx.insert_notification(*n));
  });

  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto listed = TOCSIN_TRY(tx.list_notifications(incident));
    EXPECT_EQ(listed.size(), 5u);
    if (listed.size() == 5) {
      expect_same(listed[0], later);
      expect_same(listed[1], sooner);
      expect_same(listed[3], sent);
    }
    auto orphans = TOCSIN_TRY(tx.list_notifications(0));
    EXPECT_EQ(orphans.size(), 1u);
    if (!orphans.empty()) expect_same(orphans[0], no_incident);

    EXPECT_TRUE(TOCSIN_TRY(tx.due_notifications(at(99), 10)).empty());
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.due_notifications(at(100), 10))), ElementsAre(sooner.id, tie.id));
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.due_notifications(at(1000), 10))),
                ElementsAre(sooner.id, tie.id, no_incident.id, later.id));
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.due_notifications(at(1000), 3))), ElementsAre(sooner.id, tie.id, no_incident.id));
    EXPECT_EQ(TOCSIN_TRY(tx.next_notification_due()), at(100));
    return core::ok();
  }).has_value());

  Notification updated = sooner;
  updated.status = NotificationStatus::kSent;
  updated.attempts = 3;
  updated.last_error = "";
  updated.next_attempt_at = at(150);
  updated.target = "person:bob";
  updated.payload = "{}";
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_notification(updated).has_value()); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto listed = TOCSIN_TRY(tx.list_notifications(incident));
    EXPECT_EQ(listed.size(), 5u);
    if (listed.size() == 5) expect_same(listed[1], updated);
    EXPECT_THAT(ids_of(TOCSIN_TRY(tx.due_notifications(at(1000), 10))), ElementsAre(tie.id, no_incident.id, later.id));
    EXPECT_EQ(TOCSIN_TRY(tx.next_notification_due()), at(100));
    return core::ok();
  }).has_value());
}

// What the delivery lanes ask the store (notify/deliverer.h): when the next pending
// notification after the ones due now falls due, and the backlog per channel kind for /metrics.
TEST_P(StoreTest, NextDueAfterAndTheBacklogCountOnlyPendingNotifications) {
  const int64_t incident = insert_incident(bare_incident("g", at(0)));
  Notification now_due = make_notification(incident, at(100));
  Notification next = make_notification(incident, at(250));
  next.created_at = at(40);
  Notification mail = make_notification(incident, at(400));
  mail.channel = "email";
  mail.created_at = at(30);
  Notification sent = make_notification(incident, at(200));
  sent.status = NotificationStatus::kSent;
  sent.created_at = at(5);
  write([&](Tx& tx) {
    for (auto* n : {&now_due, &next, &mail, &sent}) n->id = value_of(tx.insert_notification(*n));
  });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    EXPECT_EQ(TOCSIN_TRY(tx.next_notification_due_after(at(100))), at(250)) << "strictly after; the sent one at 200 is not pending";
    EXPECT_EQ(TOCSIN_TRY(tx.next_notification_due_after(at(99))), at(100));
    EXPECT_EQ(TOCSIN_TRY(tx.next_notification_due_after(at(400))), std::nullopt);
    auto backlog = TOCSIN_TRY(tx.notification_backlog());
    EXPECT_EQ(backlog.size(), 2u);
    if (backlog.size() == 2) {
      EXPECT_EQ(backlog[0].channel, "email");
      EXPECT_EQ(backlog[0].pending, 1);
      EXPECT_EQ(backlog[0].oldest_created_at, at(30));
      EXPECT_EQ(backlog[1].channel, "webhook");
      EXPECT_EQ(backlog[1].pending, 2);
      EXPECT_EQ(backlog[1].oldest_created_at, at(0)) << "the sent one (created at 5) does not count";
    }
    return core::ok();
  }).has_value());
}

// Web UI sessions (docs/api.md#sessions): only the SHA-256 of the id is stored; a duplicate id,
// a malformed digest or an unknown role is refused.
TEST_P(StoreTest, SessionsRoundTripTouchAndExpire) {
  const std::string a(64, 'a'), b(64, 'b');
  write([&](Tx& tx) {
    ASSERT_TRUE(tx.insert_session({a, "ops-cli", "check", "responder", "csrf", at(1000), at(1000), at(5000)}).has_value());
    ASSERT_TRUE(tx.insert_session({b, "root", "check2", "admin", "csrf2", at(1000), at(1000), at(9000)}).has_value());
    ASSERT_TRUE(tx.touch_session(a, at(2000)).has_value());
  });
  for (const Session& bad : {Session{a, "x", "y", "viewer", "z", at(1), at(1), at(2)},        // the same id
                             Session{"short", "x", "y", "viewer", "z", at(1), at(1), at(2)},  // not a SHA-256
                             Session{std::string(64, 'c'), "x", "y", "root", "z", at(1), at(1), at(2)}}) {
    EXPECT_FALSE(store_->write([&](Tx& tx) { return tx.insert_session(bad); }).has_value()) << bad.id_sha256;
  }
  read([&](Tx& tx) {
    const auto s = value_of(tx.get_session(a));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->token_name, "ops-cli");
    EXPECT_EQ(s->token_check, "check");
    EXPECT_EQ(s->role, "responder");
    EXPECT_EQ(s->csrf_token, "csrf");
    EXPECT_EQ(s->created_at, at(1000));
    EXPECT_EQ(s->last_seen_at, at(2000));
    EXPECT_EQ(s->expires_at, at(5000));
    EXPECT_FALSE(value_of(tx.get_session(std::string(64, 'd'))));
  });
  write([&](Tx& tx) {
    EXPECT_EQ(value_of(tx.delete_expired_sessions(at(5000))), 1);
    EXPECT_TRUE(value_of(tx.delete_session(b)));
    EXPECT_FALSE(value_of(tx.delete_session(b)));
  });
  read([&](Tx& tx) { EXPECT_FALSE(value_of(tx.get_session(a))); });
}

TEST_P(StoreTest, AttemptsRoundTripInOrder) {
  const int64_t incident = insert_incident(bare_incident("g", at(0)));
  int64_t notification = 0;
  write([&](Tx& tx) { notification = value_of(tx.insert_notification(make_notification(incident, at(0)))); });
  NotificationAttempt failed{.id = 0, .notification_id = notification, .at = at(10), .ok = false,
                             .status_code = 503, .error = "service \"unavailable\" ☹",
                             .latency = core::Duration(1234)};
  NotificationAttempt ok{.id = 0, .notification_id = notification, .at = at(20), .ok = true, .status_code = 200,
                         .error = "", .latency = core::Duration(0)};
  write([&](Tx& tx) {
    failed.id = value_of(tx.insert_attempt(failed));
    ok.id = value_of(tx.insert_attempt(ok));
  });
  EXPECT_LT(failed.id, ok.id);
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto attempts = TOCSIN_TRY(tx.list_attempts(notification));
    EXPECT_EQ(attempts.size(), 2u);
    for (size_t k = 0; k < attempts.size() && k < 2; ++k) {
      const auto& want = k == 0 ? failed : ok;
      EXPECT_EQ(attempts[k].id, want.id);
      EXPECT_EQ(attempts[k].notification_id, want.notification_id);
      EXPECT_EQ(attempts[k].at, want.at);
      EXPECT_EQ(attempts[k].ok, want.ok);
      EXPECT_EQ(attempts[k].status_code, want.status_code);
      EXPECT_EQ(attempts[k].error, want.error);
      EXPECT_EQ(attempts[k].latency, want.latency);
    }
    EXPECT_TRUE(TOCSIN_TRY(tx.list_attempts(notification + 1)).empty());
    return core::ok();
  }).has_value());
}

void expect_same(const ActionRun& got, const ActionRun& want) {
  EXPECT_EQ(got.incident_id, want.incident_id);
  EXPECT_EQ(got.step, want.step);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.attempts, want.attempts);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.next_attempt_at, want.next_attempt_at);
  EXPECT_EQ(got.started_at, want.started_at);
  EXPECT_EQ(got.finished_at, want.finished_at);
  EXPECT_EQ(got.approved_by, want.approved_by);
  EXPECT_EQ(got.approved_at, want.approved_at);
  EXPECT_EQ(got.request, want.request);
  EXPECT_EQ(got.last_result, want.last_result);
  EXPECT_EQ(got.last_output, want.last_output);
}

TEST_P(StoreTest, ActionRunsRoundTripComeDueInOrderAndLoadWithTheIncident) {
  const int64_t incident = insert_incident(bare_incident("g", at(0)));
  // Tasks give the runs their order in the incident: "b" is the plan's first step.
  write([&](Tx& tx) {
    Task first;
    first.step = "b";
    first.ord = 0;
    Task second;
    second.step = "a";
    second.ord = 1;
    EXPECT_TRUE(tx.insert_task(incident, first).has_value());
    EXPECT_TRUE(tx.insert_task(incident, second).has_value());
  });
  ActionRun gated;
  gated.incident_id = incident;
  gated.step = "a";
  gated.type = "webhook";
  gated.state = ActionState::kAwaitingApproval;
  gated.created_at = at(0);
  gated.next_attempt_at = at(0);
  ActionRun full{.incident_id = incident,
                 .step = "b",
                 .type = "command",
                 .state = ActionState::kPending,
                 .attempts = 2,
                 .created_at = at(0),
                 .next_attempt_at = at(500),
                 .started_at = at(100),
                 .finished_at = at(200),
                 .approved_by = "alice ☃",
                 .approved_at = at(50),
                 .request = R"({"argv":["/bin/sh","-c","echo \"hi\""]})",
                 .last_result = "exit status 1",
                 .last_output = "line 1\nline \"2\" ✓"};
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.insert_action_run(gated).has_value());
    EXPECT_TRUE(tx.insert_action_run(full).has_value());
  });
  // One run per (incident, step).
  EXPECT_FALSE(store_->write([&](Tx& tx) { return tx.insert_action_run(gated); }).has_value());
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto got = TOCSIN_TRY(tx.get_action_run(incident, "b"));
    EXPECT_TRUE(got.has_value());
    if (got) expect_same(*got, full);
    EXPECT_FALSE(TOCSIN_TRY(tx.get_action_run(incident, "c")).has_value());
    EXPECT_TRUE(TOCSIN_TRY(tx.due_action_runs(at(499), 10)).empty());
    EXPECT_EQ(TOCSIN_TRY(tx.due_action_runs(at(500), 10)).size(), 1u);
    EXPECT_EQ(TOCSIN_TRY(tx.next_action_run_due()), at(500));  // awaiting approval is not due
    EXPECT_EQ(TOCSIN_TRY(tx.list_action_runs(ActionState::kAwaitingApproval)).size(), 1u);
    EXPECT_TRUE(TOCSIN_TRY(tx.list_action_runs(ActionState::kRunning)).empty());
    return core::ok();
  }).has_value());
  const auto inc = get_incident(incident);
  ASSERT_TRUE(inc.has_value());
  ASSERT_EQ(inc->actions.size(), 2u);
  EXPECT_EQ(inc->actions[0].step, "b");
  EXPECT_EQ(inc->actions[1].step, "a");

  ActionRun approved = gated;
  approved.state = ActionState::kPending;
  approved.approved_by = "bob";
  approved.approved_at = at(10);
  approved.next_attempt_at = at(10);
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_action_run(approved).has_value()); });
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    auto due = TOCSIN_TRY(tx.due_action_runs(at(1000), 10));
    EXPECT_EQ(due.size(), 2u);
    if (due.size() == 2) {
      expect_same(due[0], approved);
      expect_same(due[1], full);
    }
    EXPECT_EQ(TOCSIN_TRY(tx.due_action_runs(at(1000), 1)).size(), 1u);
    EXPECT_EQ(TOCSIN_TRY(tx.next_action_run_due()), at(10));
    return core::ok();
  }).has_value());
  auto missing = store_->write([&](Tx& tx) -> Status {
    ActionRun nowhere = approved;
    nowhere.step = "zz";
    return tx.update_action_run(nowhere);
  });
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, TwoThreadsWritingConcurrentlyLoseNothing) {
  constexpr int kPerThread = 200;
  auto writer = [&](int thread) {
    for (int k = 0; k < kPerThread; ++k) {
      auto status = store_->write([&](Tx& tx) -> Status {
        const int64_t id = TOCSIN_TRY(tx.insert_incident(bare_incident(fmt::format("t{}-{}", thread, k), at(k))));
        return status_of(tx.append_timeline(
            {.id = 0, .incident_id = id, .at = at(k), .kind = "opened", .actor = "tocsin", .detail = ""}));
      });
      EXPECT_TRUE(status.has_value()) << status.error().to_string();
    }
  };
  std::thread a(writer, 0);
  std::thread b(writer, 1);
  a.join();
  b.join();
  auto all = list(filter([&](auto& f) {
    f.limit = 10 * kPerThread;
    f.with_details = true;
  }));
  EXPECT_EQ(all.size(), 2u * kPerThread);
  for (const auto& incident : all) EXPECT_EQ(incident.timeline.size(), 1u) << incident.id;
}

TEST_P(StoreTest, TwoStoresOnOneDatabaseLoseNothing) {
  auto second = backend_->open();
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  constexpr int kPerThread = 50;
  auto writer = [&](Store* store) {
    for (int k = 0; k < kPerThread; ++k) {
      auto status = store->write([&](Tx& tx) { return tx.upsert_alert(bare_alert((static_cast<uint64_t>(k) << 1) | (store == store_.get() ? 1 : 0))); });
      EXPECT_TRUE(status.has_value()) << status.error().to_string();
    }
  };
  std::thread a(writer, store_.get());
  std::thread b(writer, second->get());
  a.join();
  b.join();
  ASSERT_TRUE((*second)->read([&](Tx& tx) -> Status {
    EXPECT_EQ(TOCSIN_TRY(tx.list_alerts(std::nullopt)).size(), 2u * kPerThread);
    return core::ok();
  }).has_value());
}

TEST_P(StoreTest, NegativeLimitsAreInvalid) {
  auto status = store_->read([&](Tx& tx) -> Status {
    EXPECT_EQ(tx.due_notifications(at(0), -1).error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(tx.incidents_due_for_escalation(at(0), -5).error().code(), ErrorCode::kInvalidArgument);
    return core::ok();
  });
  EXPECT_TRUE(status.has_value());
}

TEST_P(StoreTest, ReadSeesACommittedSnapshot) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  auto status = store_->read([&](Tx& tx) -> Status {
    auto incident = TOCSIN_TRY(tx.get_incident(id));
    EXPECT_TRUE(incident.has_value());
    return core::ok();
  });
  EXPECT_TRUE(status.has_value());
}


TEST_P(StoreDeathTest, TxUsedAfterItsTransactionIsABug) {
  Tx* escaped = nullptr;
  write([&](Tx& tx) { escaped = &tx; });
  ASSERT_NE(escaped, nullptr);
  EXPECT_DEBUG_DEATH((void)escaped->get_alert(1), "used after its transaction ended");
}

TEST_P(StoreDeathTest, WritingThroughAReadTxIsABug) {
  EXPECT_DEBUG_DEATH((void)store_->read([&](Tx& tx) { return tx.upsert_alert(bare_alert(1)); }),
                     "Store::read\\(\\) used to write");
}


TEST_P(StoreTest, OverdueTasksAreOpenPastDueNotYetReportedOfOpenIncidents) {
  const int64_t open_id = insert_incident(bare_incident("g1", at(0)));
  Incident resolved = bare_incident("g2", at(0));
  resolved.status = IncidentStatus::kResolved;
  const int64_t resolved_id = insert_incident(resolved);
  auto task = [](std::string step, int64_t due, TaskStatus status = TaskStatus::kOpen) {
    Task t;
    t.step = std::move(step);
    t.due_at = at(due);
    t.status = status;
    return t;
  };
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.insert_task(open_id, task("late", 100)).has_value());
    EXPECT_TRUE(tx.insert_task(open_id, task("later", 300)).has_value());
    EXPECT_TRUE(tx.insert_task(open_id, task("done", 50, TaskStatus::kDone)).has_value());
    EXPECT_TRUE(tx.insert_task(resolved_id, task("ignored", 10)).has_value());
  });
  read([&](Tx& tx) {
    auto due = tx.overdue_tasks(at(200), 10).value();
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].first, open_id);
    EXPECT_EQ(due[0].second.step, "late");
    EXPECT_EQ(tx.next_task_due().value(), at(100));
  });
  Task reported = task("late", 100);
  reported.overdue_at = at(200);
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_task(open_id, reported).has_value()); });
  read([&](Tx& tx) {
    EXPECT_TRUE(tx.overdue_tasks(at(200), 10).value().empty());
    EXPECT_EQ(tx.next_task_due().value(), at(300));
  });
}

TEST_P(StoreTest, LinksAreUndirectedAndClocksComeDueInOrder) {
  const int64_t a = insert_incident(bare_incident("a", at(0)));
  const int64_t b = insert_incident(bare_incident("b", at(0)));
  const int64_t c = insert_incident(bare_incident("c", at(0)));
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.insert_link(b, a, at(1)).has_value());
    EXPECT_TRUE(tx.insert_link(a, b, at(2)).has_value());  // the same pair: kept once
    EXPECT_TRUE(tx.insert_link(c, b, at(3)).has_value());
    EXPECT_TRUE(tx.upsert_clock({a, "regulator", at(10), at(500), 0}).has_value());
    EXPECT_TRUE(tx.upsert_clock({b, "status", at(10), at(100), 2}).has_value());
    EXPECT_TRUE(tx.upsert_clock({c, "stopped", at(10), std::nullopt, 1}).has_value());
  });
  EXPECT_EQ(get_incident(a)->related, std::vector<int64_t>{b});
  EXPECT_EQ(get_incident(b)->related, (std::vector<int64_t>{a, c}));
  ASSERT_EQ(get_incident(b)->clocks.size(), 1u);
  EXPECT_EQ(get_incident(b)->clocks[0].fired, 2);
  read([&](Tx& tx) {
    auto due = tx.due_clocks(at(600), 10).value();
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[0].name, "status");
    EXPECT_EQ(due[1].name, "regulator");
    EXPECT_EQ(tx.next_clock_due().value(), at(100));
  });
}


TEST_P(StoreTest, TouchAlertWritesOnlyTheTimes) {
  AlertRecord a;
  a.fingerprint = 42;
  a.labels = core::Labels{{"alertname", "X"}};
  a.state = AlertState::kFiring;
  a.active_at = at(1);
  a.updated_at = at(2);
  a.ends_at = at(100);
  a.generator_url = "http://g";
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(a).has_value()); });
  write([&](Tx& tx) { EXPECT_TRUE(tx.touch_alert(42, at(200), true, at(150)).has_value()); });
  read([&](Tx& tx) {
    auto got = tx.get_alert(42).value();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->ends_at, at(200));
    EXPECT_TRUE(got->ends_at_from_timeout);
    EXPECT_EQ(got->updated_at, at(150));
    EXPECT_EQ(got->generator_url, "http://g");
    EXPECT_EQ(got->active_at, at(1));
  });
  auto st = store_->write([&](Tx& tx) { return tx.touch_alert(7, at(1), false, at(1)); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), core::ErrorCode::kNotFound);
}

DrillRun drill_run(std::string plan, std::string scenario, Timestamp ran_at) {
  DrillRun r;
  r.scenario = std::move(scenario);
  r.plan = std::move(plan);
  r.mode = "simulated";
  r.seed = 0xfedcba9876543210ULL;  // the top bit set: stored bit-cast, read back whole
  r.participants = {"alice", "bob ☃"};
  r.started_at = at(0);
  r.finished_at = at(3600000);
  r.ran_at = ran_at;
  r.score = 87.5;
  r.passed = true;
  r.scorecard_json = R"({"score":87.5,"steps":[{"id":"triage","status":"late"}],"note":"\"quoted\" ☃"})";
  return r;
}

TEST_P(StoreTest, DrillRunsRoundTripEveryFieldAndListNewestFirstWithFilters) {
  DrillRun crash = drill_run("system_crash", "System crash", at(1000));
  DrillRun live = drill_run("system_crash", "System crash", at(3000));
  live.mode = "live";
  live.passed = false;
  live.score = 0;
  live.participants.clear();
  DrillRun breach = drill_run("data_breach", "Data breach", at(2000));
  int64_t crash_id = 0, live_id = 0, breach_id = 0;
  write([&](Tx& tx) {
    crash_id = value_of(tx.insert_drill_run(crash));
    live_id = value_of(tx.insert_drill_run(live));
    breach_id = value_of(tx.insert_drill_run(breach));
  });
  EXPECT_GT(live_id, crash_id);
  read([&](Tx& tx) {
    auto got = value_of(tx.get_drill_run(crash_id));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->id, crash_id);
    EXPECT_EQ(got->scenario, "System crash");
    EXPECT_EQ(got->plan, "system_crash");
    EXPECT_EQ(got->mode, "simulated");
    EXPECT_EQ(got->seed, 0xfedcba9876543210ULL);
    EXPECT_THAT(got->participants, ElementsAre("alice", "bob ☃"));
    EXPECT_EQ(got->started_at, at(0));
    EXPECT_EQ(got->finished_at, at(3600000));
    EXPECT_EQ(got->ran_at, at(1000));
    EXPECT_EQ(got->score, 87.5);
    EXPECT_TRUE(got->passed);
    EXPECT_EQ(got->scorecard_json, crash.scorecard_json);
    EXPECT_FALSE(got->live_drill.has_value());
    EXPECT_FALSE(value_of(tx.get_drill_run(live_id + 100)).has_value());

    auto ids = [](const std::vector<DrillRun>& runs) {
      std::vector<int64_t> out;
      for (const auto& r : runs) out.push_back(r.id);
      return out;
    };
    DrillRunFilter all;
    auto listed = value_of(tx.list_drill_runs(all));
    EXPECT_THAT(ids(listed), ElementsAre(live_id, breach_id, crash_id));
    EXPECT_EQ(listed[0].scorecard_json, "");  // summaries unless asked
    EXPECT_TRUE(listed[0].participants.empty());
    EXPECT_EQ(listed[0].mode, "live");
    all.with_scorecard = true;
    EXPECT_EQ(value_of(tx.list_drill_runs(all)).back().scorecard_json, crash.scorecard_json);

    DrillRunFilter by_plan;
    by_plan.plan = "system_crash";
    EXPECT_THAT(ids(value_of(tx.list_drill_runs(by_plan))), ElementsAre(live_id, crash_id));
    DrillRunFilter by_scenario;
    by_scenario.scenario = "Data breach";
    EXPECT_THAT(ids(value_of(tx.list_drill_runs(by_scenario))), ElementsAre(breach_id));
    DrillRunFilter since;
    since.since = at(2000);  // at or after
    EXPECT_THAT(ids(value_of(tx.list_drill_runs(since))), ElementsAre(live_id, breach_id));
    DrillRunFilter limited;
    limited.limit = 1;
    EXPECT_THAT(ids(value_of(tx.list_drill_runs(limited))), ElementsAre(live_id));
    limited.limit = -1;
    EXPECT_EQ(tx.list_drill_runs(limited).error().code(), ErrorCode::kInvalidArgument);

    auto last = value_of(tx.last_drill_runs());
    EXPECT_EQ(last.size(), 2u);
    EXPECT_EQ(last.at("system_crash"), at(3000));
    EXPECT_EQ(last.at("data_breach"), at(2000));
  });
}

TEST_P(StoreTest, BadDrillRunsAreRejectedNamingTheFieldAndChangeNothing) {
  struct Case {
    std::function<void(DrillRun&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](DrillRun& r) { r.mode = "chaos"; }, "mode"},
      {[](DrillRun& r) { r.scenario.clear(); }, "scenario"},
      {[](DrillRun& r) { r.plan.clear(); }, "plan"},
      {[](DrillRun& r) { r.score = 100.5; }, "score"},
      {[](DrillRun& r) { r.score = -1; }, "score"},
      {[](DrillRun& r) { r.score = std::numeric_limits<double>::quiet_NaN(); }, "score"},
      {[](DrillRun& r) { r.finished_at = r.started_at - std::chrono::seconds(1); }, "finished_at"},
      {[](DrillRun& r) { r.scorecard_json = "[1, 2]"; }, "scorecard"},
      {[](DrillRun& r) { r.scorecard_json = "{\"score\": "; }, "scorecard"},
      {[](DrillRun& r) { r.participants = {"alice", ""}; }, "participants[1]"},
  };
  for (const auto& c : cases) {
    DrillRun run = drill_run("system_crash", "System crash", at(0));
    c.spoil(run);
    // A good run first in the same transaction: the bad one rolls it back too.
    auto status = store_->write([&](Tx& tx) -> Status {
      TOCSIN_TRY(tx.insert_drill_run(drill_run("system_crash", "System crash", at(0))));
      TOCSIN_TRY(tx.insert_drill_run(run));
      return core::ok();
    });
    ASSERT_FALSE(status.has_value()) << c.field;
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument) << c.field;
    EXPECT_EQ(status.error().field(), c.field);
  }
  read([&](Tx& tx) { EXPECT_TRUE(value_of(tx.list_drill_runs(DrillRunFilter{})).empty()); });
}

TEST_P(StoreTest, LiveDrillsRoundTripUpdateAndListRunningOnes) {
  LiveDrill first;
  first.scenario = "System crash";
  first.plan = "system_crash";
  first.participants = {"alice"};
  first.started_at = at(0);
  first.started_by = "ops-cli";
  LiveDrill second = first;
  second.participants = {"bob", "carol"};
  second.started_at = at(10);
  second.scenario_yaml = "name: System crash\nplan: system_crash\n";
  int64_t first_id = 0, second_id = 0;
  write([&](Tx& tx) {
    first_id = value_of(tx.insert_live_drill(first));
    second_id = value_of(tx.insert_live_drill(second));
  });
  read([&](Tx& tx) {
    auto got = value_of(tx.get_live_drill(second_id));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->scenario, "System crash");
    EXPECT_THAT(got->participants, ElementsAre("bob", "carol"));
    EXPECT_EQ(got->started_at, at(10));
    EXPECT_FALSE(got->finished_at.has_value());
    EXPECT_EQ(got->started_by, "ops-cli");
    EXPECT_EQ(got->scenario_yaml, "name: System crash\nplan: system_crash\n");
    EXPECT_EQ(value_of(tx.get_live_drill(first_id))->scenario_yaml, "");
    EXPECT_EQ(value_of(tx.list_live_drills(true)).size(), 2u);
  });
  // Finishing with a scored run links the two.
  write([&](Tx& tx) {
    DrillRun run = drill_run("system_crash", "System crash", at(20));
    run.mode = "live";
    run.live_drill = first_id;
    LiveDrill done = *value_of(tx.get_live_drill(first_id));
    done.finished_at = at(20);
    done.finished_by = "alice";
    done.run = value_of(tx.insert_drill_run(run));
    EXPECT_TRUE(tx.update_live_drill(done).has_value());
  });
  read([&](Tx& tx) {
    auto running = value_of(tx.list_live_drills(true));
    ASSERT_EQ(running.size(), 1u);
    EXPECT_EQ(running[0].id, second_id);
    auto all = value_of(tx.list_live_drills(false));
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, second_id);  // newest first
    EXPECT_EQ(all[1].finished_at, at(20));
    EXPECT_EQ(all[1].finished_by, "alice");
    ASSERT_TRUE(all[1].run.has_value());
    EXPECT_EQ(value_of(tx.get_drill_run(*all[1].run))->live_drill, first_id);
  });
  LiveDrill missing = first;
  missing.id = 999;
  auto st = store_->write([&](Tx& tx) { return tx.update_live_drill(missing); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, PostmortemsRoundTripAndOverwriteEveryColumn) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  read([&](Tx& tx) { EXPECT_FALSE(value_of(tx.get_postmortem(id)).has_value()); });
  Postmortem pm;
  pm.incident_id = id;
  pm.fields = {"API down 12 min", "all users", "disk full on \"db-1\" ☃\nsecond line", "no alert on disk",
               "failover worked", "paging was slow", "watch the disks"};
  pm.updated_at = at(100);
  pm.updated_by = "alice";
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_postmortem(pm).has_value()); });
  read([&](Tx& tx) {
    auto got = value_of(tx.get_postmortem(id));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->fields, pm.fields);
    EXPECT_EQ(got->updated_at, at(100));
    EXPECT_EQ(got->updated_by, "alice");
    EXPECT_FALSE(got->completed_at.has_value());
    EXPECT_EQ(got->completed_by, "");
  });
  pm.fields.root_cause = "";
  pm.completed_at = at(200);
  pm.completed_by = "bob";
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_postmortem(pm).has_value()); });
  read([&](Tx& tx) {
    auto got = value_of(tx.get_postmortem(id));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->fields.root_cause, "");
    EXPECT_EQ(got->fields.lessons, "watch the disks");
    EXPECT_EQ(got->completed_at, at(200));
    EXPECT_EQ(got->completed_by, "bob");
  });
  Postmortem orphan = pm;
  orphan.incident_id = 999;
  auto st = store_->write([&](Tx& tx) { return tx.upsert_postmortem(orphan); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(st.error().message(), HasSubstr("incident 999 does not exist"));
}

TEST_P(StoreTest, ActionItemsRoundTripFilterAndCount) {
  const int64_t first = insert_incident(bare_incident("g", at(0)));
  const int64_t second = insert_incident(bare_incident("h", at(1)));
  auto item = [](int64_t incident, std::string title, std::string owner, Timestamp due) {
    ActionItem a;
    a.incident_id = incident;
    a.title = std::move(title);
    a.owner = std::move(owner);
    a.due_at = due;
    a.created_at = at(10);
    a.created_by = "alice";
    return a;
  };
  auto by_incident = [](int64_t id) { ActionItemFilter f; f.incident = id; return f; };
  auto by_owner = [](std::string owner) { ActionItemFilter f; f.owner = std::move(owner); return f; };
  auto by_status = [](ActionItemStatus status) { ActionItemFilter f; f.status = status; return f; };
  auto due_before = [](Timestamp t) { ActionItemFilter f; f.due_before = t; return f; };
  auto limited = [](int limit) { ActionItemFilter f; f.limit = limit; return f; };
  int64_t a = 0, b = 0, c = 0;
  write([&](Tx& tx) {
    a = value_of(tx.insert_action_item(item(first, "add a disk alert ☃", "alice", at(5000))));
    b = value_of(tx.insert_action_item(item(first, "runbook for failover", "bob", at(1000))));
    c = value_of(tx.insert_action_item(item(second, "load test", "alice", at(3000))));
  });
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  read([&](Tx& tx) {
    auto got = value_of(tx.get_action_item(a));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->incident_id, first);
    EXPECT_EQ(got->title, "add a disk alert ☃");
    EXPECT_EQ(got->owner, "alice");
    EXPECT_EQ(got->due_at, at(5000));
    EXPECT_EQ(got->status, ActionItemStatus::kOpen);
    EXPECT_EQ(got->created_at, at(10));
    EXPECT_EQ(got->created_by, "alice");
    EXPECT_FALSE(got->done_at.has_value());
    EXPECT_FALSE(value_of(tx.get_action_item(999)).has_value());
    auto ids = [](const std::vector<ActionItem>& items) {
      std::vector<int64_t> out;
      for (const auto& i : items) out.push_back(i.id);
      return out;
    };
    EXPECT_THAT(ids(value_of(tx.list_action_items(ActionItemFilter{}))), ElementsAre(b, c, a)) << "by due time";
    EXPECT_THAT(ids(value_of(tx.list_action_items(by_incident(first)))), ElementsAre(b, a));
    EXPECT_THAT(ids(value_of(tx.list_action_items(by_owner("alice")))), ElementsAre(c, a));
    EXPECT_THAT(ids(value_of(tx.list_action_items(due_before(at(3000))))), ElementsAre(b));
    EXPECT_THAT(ids(value_of(tx.list_action_items(by_status(ActionItemStatus::kDone)))), ElementsAre());
    EXPECT_THAT(ids(value_of(tx.list_action_items(limited(1)))), ElementsAre(b));
    const ActionItemCounts counts = value_of(tx.count_action_items(at(3500)));
    EXPECT_EQ(counts.open, 3);
    EXPECT_EQ(counts.overdue, 2);
  });
  write([&](Tx& tx) {
    ActionItem done = *value_of(tx.get_action_item(b));
    done.status = ActionItemStatus::kDone;
    done.done_at = at(2000);
    done.done_by = "bob";
    EXPECT_TRUE(tx.update_action_item(done).has_value());
  });
  read([&](Tx& tx) {
    auto got = value_of(tx.get_action_item(b));
    EXPECT_EQ(got->status, ActionItemStatus::kDone);
    EXPECT_EQ(got->done_at, at(2000));
    EXPECT_EQ(got->done_by, "bob");
    EXPECT_EQ(value_of(tx.list_action_items(by_status(ActionItemStatus::kOpen))).size(), 2u);
    const ActionItemCounts counts = value_of(tx.count_action_items(at(3500)));
    EXPECT_EQ(counts.open, 2);
    EXPECT_EQ(counts.overdue, 1) << "a done item is never overdue";
  });
  ActionItem missing = item(first, "x", "alice", at(0));
  missing.id = 999;
  auto st = store_->write([&](Tx& tx) { return tx.update_action_item(missing); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  auto insert = [&](const ActionItem& row) {
    return store_->write([&](Tx& tx) -> Status {
      TOCSIN_TRY(tx.insert_action_item(row));
      return core::ok();
    });
  };
  auto orphan = insert(item(999, "x", "alice", at(0)));
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), ErrorCode::kNotFound);
  auto untitled = insert(item(first, "", "alice", at(0)));
  EXPECT_FALSE(untitled) << "the schema refuses an empty title";
  read([&](Tx& tx) { EXPECT_EQ(value_of(tx.list_action_items(ActionItemFilter{})).size(), 3u) << "the refused writes rolled back"; });
}

TEST_P(StoreTest, IncidentDrillMarkRoundTrips) {
  Incident drill = bare_incident("g", at(0));
  drill.drill = "7";
  const int64_t id = insert_incident(drill);
  EXPECT_EQ(get_incident(id)->drill, "7");
  EXPECT_EQ(get_incident(insert_incident(bare_incident("h", at(1))))->drill, "");
  Incident changed = *get_incident(id);
  changed.drill = "";
  write([&](Tx& tx) { EXPECT_TRUE(tx.update_incident(changed).has_value()); });
  EXPECT_EQ(get_incident(id)->drill, "");
}

TEST_P(StoreTest, AuditEntriesRoundTripAndFilter) {
  const AuditEntry tricky{
      0, at(2000), "bob \"the\" builder", "incident.note", "incident/7", "line one,\nline \"two\" ☃", "[::1]:5555"};
  write([&](Tx& tx) {
    EXPECT_EQ(value_of(tx.append_audit({0, at(1000), "alice", "incident.acknowledge", "incident/7", "", "10.0.0.1:1"})),
              1);
    EXPECT_EQ(value_of(tx.append_audit(tricky)), 2);
    EXPECT_EQ(value_of(tx.append_audit({99, at(1000), "carol", "silence.create", "silence/abc", "x", ""})), 3)
        << "the store assigns the id";
    value_of(tx.append_audit({0, at(3000), "carol", "silence.expire", "silence/abc", "", ""}));
  });
  auto list = [&](const AuditFilter& f) {
    std::vector<AuditEntry> out;
    read([&](Tx& tx) { out = value_of(tx.list_audit(f)); });
    return out;
  };
  auto ids = [&](const AuditFilter& f) {
    std::vector<int64_t> out;
    for (const auto& e : list(f)) out.push_back(e.id);
    return out;
  };
  const auto all = list({});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_THAT(ids({}), ElementsAre(1, 3, 2, 4)) << "by time, then id";
  const AuditEntry& got = all[2];
  EXPECT_EQ(got.id, 2);
  EXPECT_EQ(got.at, tricky.at);
  EXPECT_EQ(got.actor, tricky.actor);
  EXPECT_EQ(got.action, tricky.action);
  EXPECT_EQ(got.object, tricky.object);
  EXPECT_EQ(got.detail, tricky.detail);
  EXPECT_EQ(got.source, tricky.source);
  EXPECT_EQ(all[0].source, "10.0.0.1:1");

  AuditFilter f;
  f.actor = "carol";
  EXPECT_THAT(ids(f), ElementsAre(3, 4));
  f = {};
  f.action = "silence.";
  EXPECT_THAT(ids(f), ElementsAre(3, 4));
  f.action = "silence.expire";
  EXPECT_THAT(ids(f), ElementsAre(4));
  f.action = "silence._xpire";  // not a LIKE pattern
  EXPECT_TRUE(ids(f).empty());
  f = {};
  f.since = at(1000);
  f.until = at(3000);  // since inclusive, until exclusive
  EXPECT_THAT(ids(f), ElementsAre(1, 3, 2));
  f.since = at(1001);
  EXPECT_THAT(ids(f), ElementsAre(2));
  f = {};
  f.limit = 2;
  EXPECT_THAT(ids(f), ElementsAre(1, 3)) << "the oldest two";
  f.limit = 0;
  EXPECT_TRUE(ids(f).empty());
  f.limit = -1;
  auto bad = store_->read([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.list_audit(f));
    return core::ok();
  });
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(StoreTest, AnAuditEntryRollsBackWithItsTransaction) {
  const int64_t id = insert_incident(bare_incident("g", at(0)));
  auto failed = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.append_audit({0, at(1000), "alice", "incident.note", fmt::format("incident/{}", id), "n", ""}));
    TOCSIN_TRY(tx.append_timeline({0, id, at(1000), "note", "alice", "n"}));
    return std::unexpected(core::Error::internal("boom"));
  });
  ASSERT_FALSE(failed.has_value());
  read([&](Tx& tx) { EXPECT_TRUE(value_of(tx.list_audit({})).empty()); });
  EXPECT_TRUE(get_incident(id)->timeline.empty());
  // An entry without an action is refused, naming the field.
  auto refused = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.append_audit({0, at(1000), "alice", "", "incident/1", "", ""}));
    return core::ok();
  });
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().field(), "action");
}

TEST_P(StoreTest, ListClocksReturnsEveryClockByIncidentThenName) {
  const int64_t a = insert_incident(bare_incident("a", at(0)));
  const int64_t b = insert_incident(bare_incident("b", at(0)));
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.upsert_clock({b, "regulator", at(5), std::nullopt, 1}).has_value());
    EXPECT_TRUE(tx.upsert_clock({a, "status", at(1), at(100), 0}).has_value());
    EXPECT_TRUE(tx.upsert_clock({a, "regulator", at(2), at(200), 0}).has_value());
  });
  std::vector<IncidentClock> clocks;
  read([&](Tx& tx) { clocks = value_of(tx.list_clocks()); });
  ASSERT_EQ(clocks.size(), 3u);
  EXPECT_EQ(clocks[0].incident_id, a);
  EXPECT_EQ(clocks[0].name, "regulator");
  EXPECT_EQ(clocks[1].name, "status");
  EXPECT_EQ(clocks[2].incident_id, b);
  EXPECT_FALSE(clocks[2].next_at.has_value());
  EXPECT_EQ(clocks[2].fired, 1);
}

// Alert firings (the silenced share's record, docs/kpi.md): every field round-trips, the window is
// [since, until) in time order, old ones are deleted, and one written in a failed transaction is
// gone with it.
TEST_P(StoreTest, AlertFiringsRoundTripByWindowAndAreDeletedWhenOld) {
  AlertFiring silenced;
  silenced.fingerprint = 0xfedcba9876543210;  // above INT64_MAX: stored as the same 64 bits
  silenced.at = at(2000);
  silenced.alertname = "HighLoad";
  silenced.service = "api \"edge\"";
  silenced.severity = "critical";
  silenced.plan = "system_crash";
  silenced.silenced_by = {"0a1b", "ffff"};
  AlertFiring inhibited{0, 7, at(1000), "DiskFull", "", "warning", "", "", {}, true};
  AlertFiring drill{0, 8, at(3000), "HighLoad", "api", "", "", "12", {}, false};
  write([&](Tx& tx) {
    EXPECT_EQ(value_of(tx.insert_alert_firing(silenced)), 1);
    EXPECT_EQ(value_of(tx.insert_alert_firing(inhibited)), 2);
    EXPECT_EQ(value_of(tx.insert_alert_firing(drill)), 3);
  });
  std::vector<AlertFiring> got;
  read([&](Tx& tx) { got = value_of(tx.list_alert_firings(at(1000), at(3000))); });
  ASSERT_EQ(got.size(), 2u) << "since inclusive, until exclusive";
  EXPECT_EQ(got[0].id, 2);  // by time
  EXPECT_TRUE(got[0].inhibited);
  EXPECT_TRUE(got[0].silenced_by.empty());
  EXPECT_EQ(got[0].service, "");
  const AlertFiring& s = got[1];
  EXPECT_EQ(s.id, 1);
  EXPECT_EQ(s.fingerprint, silenced.fingerprint);
  EXPECT_EQ(s.at, silenced.at);
  EXPECT_EQ(s.alertname, "HighLoad");
  EXPECT_EQ(s.service, "api \"edge\"");
  EXPECT_EQ(s.severity, "critical");
  EXPECT_EQ(s.plan, "system_crash");
  EXPECT_EQ(s.drill, "");
  EXPECT_EQ(s.silenced_by, (std::vector<std::string>{"0a1b", "ffff"}));
  EXPECT_FALSE(s.inhibited);
  read([&](Tx& tx) { EXPECT_EQ(value_of(tx.list_alert_firings(at(3000), at(3001)))[0].drill, "12"); });

  // A failed transaction leaves no firing behind.
  auto failed = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.insert_alert_firing(inhibited));
    return std::unexpected(core::Error::internal("boom"));
  });
  EXPECT_FALSE(failed);
  read([&](Tx& tx) { EXPECT_EQ(value_of(tx.list_alert_firings(at(0), at(10000))).size(), 3u); });

  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_alert_firings(at(2000))), 1); });  // at < 2000: the inhibited one
  read([&](Tx& tx) { EXPECT_EQ(value_of(tx.list_alert_firings(at(0), at(10000))).size(), 2u); });
}

// Leases (docs/high-availability.md, "Shared work: the engine lease"): a free lease is taken at
// epoch 1, its holder renews it (same epoch, later expiry), another replica is refused while it
// is unexpired, takes it over once it expired (epoch + 1), the old holder's fencing check then
// fails, and a release frees it at once for the next holder.
TEST_P(StoreTest, LeasesAreAcquiredRenewedRefusedTakenOverFencedAndReleased) {
  constexpr Duration kTtl = std::chrono::seconds(15);
  Lease lease;
  write([&](Tx& tx) { lease = value_of(tx.acquire_lease("engine", "a", at(1000), kTtl)); });
  EXPECT_EQ(lease.name, "engine");
  EXPECT_EQ(lease.holder, "a");
  EXPECT_EQ(lease.epoch, 1);
  EXPECT_EQ(lease.acquired_at, at(1000));
  EXPECT_EQ(lease.expires_at, at(16000));
  EXPECT_TRUE(lease.held_by("a", at(1000)));

  // Renewal: same epoch, later expiry, acquired_at kept.
  write([&](Tx& tx) { lease = value_of(tx.acquire_lease("engine", "a", at(6000), kTtl)); });
  EXPECT_EQ(lease.epoch, 1);
  EXPECT_EQ(lease.acquired_at, at(1000));
  EXPECT_EQ(lease.expires_at, at(21000));

  // Another replica is refused while it is unexpired, and nothing changes.
  write([&](Tx& tx) { lease = value_of(tx.acquire_lease("engine", "b", at(20999), kTtl)); });
  EXPECT_EQ(lease.holder, "a");
  EXPECT_FALSE(lease.held_by("b", at(20999)));
  read([&](Tx& tx) {
    EXPECT_TRUE(value_of(tx.holds_lease("engine", "a", 1, at(20999))));
    EXPECT_FALSE(value_of(tx.holds_lease("engine", "b", 1, at(20999))));
    EXPECT_FALSE(value_of(tx.holds_lease("engine", "a", 2, at(20999)))) << "wrong epoch";
    EXPECT_FALSE(value_of(tx.holds_lease("engine", "a", 1, at(21000)))) << "expired";
    EXPECT_FALSE(value_of(tx.holds_lease("other", "a", 1, at(1000)))) << "never taken";
  });

  // Expired: b takes it over at the next epoch; a's fencing check fails from then on.
  write([&](Tx& tx) { lease = value_of(tx.acquire_lease("engine", "b", at(21000), kTtl)); });
  EXPECT_EQ(lease.holder, "b");
  EXPECT_EQ(lease.epoch, 2);
  EXPECT_EQ(lease.acquired_at, at(21000));
  read([&](Tx& tx) {
    EXPECT_FALSE(value_of(tx.holds_lease("engine", "a", 1, at(21000))));
    EXPECT_TRUE(value_of(tx.holds_lease("engine", "b", 2, at(21000))));
  });
  // a is refused now, and cannot release what it no longer holds.
  write([&](Tx& tx) {
    EXPECT_EQ(value_of(tx.acquire_lease("engine", "a", at(22000), kTtl)).holder, "b");
    EXPECT_FALSE(value_of(tx.release_lease("engine", "a", 1, at(22000))));
    EXPECT_FALSE(value_of(tx.release_lease("engine", "b", 1, at(22000)))) << "wrong epoch";
  });

  // b releases it: free at once, and a takes it at epoch 3 without waiting for the expiry.
  write([&](Tx& tx) { EXPECT_TRUE(value_of(tx.release_lease("engine", "b", 2, at(23000)))); });
  read([&](Tx& tx) {
    auto released = value_of(tx.get_lease("engine"));
    ASSERT_TRUE(released.has_value());
    EXPECT_EQ(released->holder, "");
    EXPECT_EQ(released->epoch, 2);
    EXPECT_FALSE(value_of(tx.holds_lease("engine", "b", 2, at(23000))));
  });
  write([&](Tx& tx) { lease = value_of(tx.acquire_lease("engine", "a", at(23001), kTtl)); });
  EXPECT_EQ(lease.holder, "a");
  EXPECT_EQ(lease.epoch, 3);

  // Leases are independent by name, listed by name.
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.acquire_lease("detect-0", "b", at(23001), kTtl)).epoch, 1); });
  read([&](Tx& tx) {
    auto all = value_of(tx.list_leases());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "detect-0");
    EXPECT_EQ(all[1].name, "engine");
    EXPECT_EQ(all[1].holder, "a");
  });

  // Bad input changes nothing.
  auto bad = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.acquire_lease("engine", "", at(99000), kTtl));
    return core::ok();
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  bad = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.acquire_lease("engine", "b", at(99000), Duration::zero()));
    return core::ok();
  });
  ASSERT_FALSE(bad);
  // A lease taken in a failed transaction is not taken.
  auto failed = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.acquire_lease("engine", "b", at(99000), kTtl));
    return std::unexpected(core::Error::internal("boom"));
  });
  EXPECT_FALSE(failed);
  read([&](Tx& tx) { EXPECT_EQ(value_of(tx.get_lease("engine"))->holder, "a"); });
}

TEST_P(StoreTest, ReplicaHeartbeatsUpsertListAndExpire) {
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.heartbeat_replica({"r2", "http://10.0.0.2:8470", at(100), at(100)}).has_value());
    EXPECT_TRUE(tx.heartbeat_replica({"r1", "http://10.0.0.1:8470", at(50), at(50)}).has_value());
  });
  write([&](Tx& tx) { EXPECT_TRUE(tx.heartbeat_replica({"r1", "http://[::1]:1", at(50), at(5050)}).has_value()); });
  std::vector<Replica> replicas;
  read([&](Tx& tx) { replicas = value_of(tx.list_replicas()); });
  ASSERT_EQ(replicas.size(), 2u);
  EXPECT_EQ(replicas[0].id, "r1");
  EXPECT_EQ(replicas[0].address, "http://[::1]:1");
  EXPECT_EQ(replicas[0].started_at, at(50));
  EXPECT_EQ(replicas[0].heartbeat_at, at(5050));
  EXPECT_EQ(replicas[1].id, "r2");
  write([&](Tx& tx) {
    EXPECT_EQ(value_of(tx.delete_stale_replicas(at(5050))), 1) << "heartbeat_at < before: r2 only";
    EXPECT_FALSE(value_of(tx.delete_replica("r2")));
    EXPECT_TRUE(value_of(tx.delete_replica("r1")));
  });
  read([&](Tx& tx) { EXPECT_TRUE(value_of(tx.list_replicas()).empty()); });
}

// Every byte value, NULs and high bytes included, in a fixed pseudo-random order.
std::string binary_bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;  // an LCG: deterministic
    out[i] = static_cast<char>(i < 256 ? i : x >> 24);
  }
  return out;
}

TEST_P(StoreTest, DetectorStatesKeepTheirBytesExactly) {
  const std::string small = std::string("\0\0RULE\x01\xff\xfe\x80\0tail\0", 16);
  const std::string large = binary_bytes(1 << 20, 7);  // 1 MiB
  const std::string empty;
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.put_detector_state("r-b", at(200), large).has_value());
    EXPECT_TRUE(tx.put_detector_state("r-a", at(100), small).has_value());
    EXPECT_TRUE(tx.put_detector_state("r-c", at(300), empty).has_value());
  });
  std::vector<DetectorState> states;
  read([&](Tx& tx) { states = value_of(tx.list_detector_states()); });
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[0].replica_id, "r-a") << "ordered by replica_id";
  EXPECT_EQ(states[0].saved_at, at(100));
  EXPECT_EQ(states[0].state.size(), 16u);
  EXPECT_EQ(states[0].state, small);
  EXPECT_EQ(states[1].replica_id, "r-b");
  EXPECT_EQ(states[1].saved_at, at(200));
  EXPECT_EQ(states[1].state.size(), large.size());
  EXPECT_TRUE(states[1].state == large) << "1 MiB of bytes read back differently";
  EXPECT_EQ(states[2].replica_id, "r-c");
  EXPECT_EQ(states[2].state, empty);
  // Each replica id has one row: a second put replaces it.
  write([&](Tx& tx) { EXPECT_TRUE(tx.put_detector_state("r-b", at(250), small).has_value()); });
  read([&](Tx& tx) { states = value_of(tx.list_detector_states()); });
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[1].replica_id, "r-b");
  EXPECT_EQ(states[1].saved_at, at(250));
  EXPECT_EQ(states[1].state, small);
  // Delete: whether one was deleted.
  write([&](Tx& tx) {
    EXPECT_TRUE(value_of(tx.delete_detector_state("r-a")));
    EXPECT_FALSE(value_of(tx.delete_detector_state("r-a")));
    EXPECT_FALSE(value_of(tx.delete_detector_state("nobody")));
  });
  read([&](Tx& tx) { states = value_of(tx.list_detector_states()); });
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].replica_id, "r-b");
  EXPECT_EQ(states[1].replica_id, "r-c");
  // A put in a failed transaction is not kept.
  auto failed = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.put_detector_state("r-d", at(400), small));
    return std::unexpected(core::Error::internal("boom"));
  });
  EXPECT_FALSE(failed);
  // And they survive a reopen.
  reopen();
  read([&](Tx& tx) { states = value_of(tx.list_detector_states()); });
  ASSERT_EQ(states.size(), 2u);
  EXPECT_TRUE(states[0].state == small);
}

TEST_P(StoreTest, DetectorStatesSavedAfterATimeAreTheNewerOnesOnly) {
  const std::string bytes = binary_bytes(1000, 3);
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.put_detector_state("r-a", at(100), bytes).has_value());
    EXPECT_TRUE(tx.put_detector_state("r-b", at(200), bytes).has_value());
    EXPECT_TRUE(tx.put_detector_state("r-c", at(300), bytes).has_value());
  });
  std::vector<DetectorState> states;
  read([&](Tx& tx) { states = value_of(tx.list_detector_states_saved_after(at(200))); });
  ASSERT_EQ(states.size(), 1u) << "strictly after";
  EXPECT_EQ(states[0].replica_id, "r-c");
  EXPECT_TRUE(states[0].state == bytes);
  read([&](Tx& tx) { states = value_of(tx.list_detector_states_saved_after(at(99))); });
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[0].replica_id, "r-a") << "ordered by replica_id";
  read([&](Tx& tx) { states = value_of(tx.list_detector_states_saved_after(at(300))); });
  EXPECT_TRUE(states.empty());
}

// A replica's checkpoint outlives its membership row for as long as a stale replica's row does
// (the replicas taking its series over read it), then goes with the stale replicas.
TEST_P(StoreTest, StaleReplicasCleanUpTakesTheirDetectorStates) {
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.heartbeat_replica({"live", "http://a", at(0), at(9000)}).has_value());
    EXPECT_TRUE(tx.heartbeat_replica({"stale", "http://b", at(0), at(1000)}).has_value());
    EXPECT_TRUE(tx.heartbeat_replica({"stopped", "http://c", at(0), at(1000)}).has_value());
    EXPECT_TRUE(tx.put_detector_state("live", at(500), "L").has_value());  // old, but its replica is live
    EXPECT_TRUE(tx.put_detector_state("stale", at(1000), "S").has_value());
    EXPECT_TRUE(tx.put_detector_state("stopped", at(1000), "T").has_value());
    EXPECT_TRUE(tx.put_detector_state("gone-recently", at(8000), "G").has_value());  // no replica row
  });
  // A clean stop leaves the membership but keeps the checkpoint for whoever takes the series.
  write([&](Tx& tx) { EXPECT_TRUE(value_of(tx.delete_replica("stopped"))); });
  auto ids = [&] {
    std::vector<std::string> out;
    read([&](Tx& tx) {
      for (const auto& s : value_of(tx.list_detector_states())) out.push_back(s.replica_id);
    });
    return out;
  };
  EXPECT_THAT(ids(), ElementsAre("gone-recently", "live", "stale", "stopped"));
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_stale_replicas(at(1000))), 0); });
  EXPECT_THAT(ids(), ElementsAre("gone-recently", "live", "stale", "stopped")) << "saved_at < before only";
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_stale_replicas(at(5000))), 1) << "the stale replica"; });
  EXPECT_THAT(ids(), ElementsAre("gone-recently", "live")) << "stale's and stopped's (no replica row) went";
  read([&](Tx& tx) {
    const auto replicas = value_of(tx.list_replicas());
    ASSERT_EQ(replicas.size(), 1u);
    EXPECT_EQ(replicas[0].id, "live");
  });
  write([&](Tx& tx) { EXPECT_EQ(value_of(tx.delete_stale_replicas(at(8001))), 0); });
  EXPECT_THAT(ids(), ElementsAre("live")) << "a replica with a fresh heartbeat keeps even an old checkpoint";
}

}  // namespace
}  // namespace tocsin::store::conformance
