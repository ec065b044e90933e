// The PostgreSQL store: the conformance suite (store_conformance_test.h) against a real server, and
// what only this backend has (SQLSTATE mapping, concurrent migration, conflicts between processes,
// reconnecting). One throwaway server serves the whole binary (a GoogleTest environment); each
// test gets a database of its own.
#include "store/postgres/postgres_store.h"

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/migrations.h"
#include "store/postgres/postgres.h"
#include "store/store_conformance_test.h"
#include "test_support/postgres_server.h"

namespace tocsin::store::postgres {
namespace {

using conformance::at;
using conformance::StoreDeathTest;
using conformance::StoreTest;
using core::ErrorCode;
using ::testing::HasSubstr;

// The server, started once before the tests; why it did not start, when it did not.
test_support::PostgresServer* g_server = nullptr;
std::string g_server_error;

class ServerEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    const auto started_at = std::chrono::steady_clock::now();
    auto server = test_support::PostgresServer::start();
    if (!server) {
      g_server_error = server.error().to_string();
      return;
    }
    server_ = std::move(*server);
    // A migrated template: copying it is faster than migrating a fresh database for every test.
    auto migrated = server_->exec("postgres", "CREATE DATABASE migrated TEMPLATE template0");
    if (migrated) {
      auto store = open_postgres_store(server_->uri("migrated"));
      if (!store) migrated = std::unexpected(store.error());
    }
    if (!migrated) {
      g_server_error = migrated.error().to_string();
      return;
    }
    g_server = server_.get();
    std::printf("test PostgreSQL on port %d, initdb and start took %lld ms\n", g_server->port(),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started_at)
                                           .count()));
  }
  void TearDown() override {
    g_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<test_support::PostgresServer> server_;
};

const auto* const g_environment = ::testing::AddGlobalTestEnvironment(new ServerEnvironment);

// A fresh database on the shared server: empty, or already migrated to the latest schema.
core::Result<std::string> create_database(bool migrated = true) {
  if (!g_server) return std::unexpected(core::Error::failed_precondition(g_server_error));
  static std::atomic<int> next{0};
  std::string name = fmt::format("t{}", ++next);
  TOCSIN_RETURN_IF_ERROR(g_server->exec(
      "postgres", fmt::format("CREATE DATABASE {} TEMPLATE {}", name, migrated ? "migrated" : "template0")));
  return name;
}

class PostgresBackend final : public conformance::StoreBackend {
 public:
  explicit PostgresBackend(std::string db) : db_(std::move(db)) {}
  core::Result<std::unique_ptr<Store>> open() override { return open_postgres_store(g_server->uri(db_)); }
  core::Status exec(std::string_view sql) override { return g_server->exec(db_, sql); }
  core::Result<std::vector<std::string>> query_row(std::string_view sql) override {
    auto conn = TOCSIN_TRY(Connection::open(g_server->uri(db_)));
    auto statement = TOCSIN_TRY(conn->prepare(sql));
    std::vector<std::string> row;
    if (!TOCSIN_TRY(statement->step())) return row;
    for (int column = 0; column < statement->column_count(); ++column) row.push_back(statement->column_text(column));
    return row;
  }
  std::string where() const override { return fmt::format("postgres db {}", db_); }
  int latest_schema_version() const override { return static_cast<int>(schema_migrations().size()); }

 private:
  std::string db_;
};

TOCSIN_INSTANTIATE_STORE_CONFORMANCE(Postgres, []() -> core::Result<std::unique_ptr<conformance::StoreBackend>> {
  return std::make_unique<PostgresBackend>(TOCSIN_TRY(create_database()));
});

TEST(PostgresErrorTest, SqlstatesMapLikeSqliteResultCodes) {
  struct Case {
    std::string_view sqlstate;
    ErrorCode code;
    bool retryable;
  };
  for (const Case& c : {Case{"40001", ErrorCode::kUnavailable, true}, Case{"40P01", ErrorCode::kUnavailable, true},
                        Case{"08006", ErrorCode::kUnavailable, true}, Case{"57P01", ErrorCode::kUnavailable, true},
                        Case{"55P03", ErrorCode::kUnavailable, true},
                        Case{"", ErrorCode::kUnavailable, true}, Case{"23505", ErrorCode::kFailedPrecondition, false},
                        Case{"23503", ErrorCode::kFailedPrecondition, false},
                        Case{"23514", ErrorCode::kInvalidArgument, false},
                        Case{"23502", ErrorCode::kInvalidArgument, false},
                        Case{"22021", ErrorCode::kInvalidArgument, false}, Case{"42P01", ErrorCode::kInternal, false},
                        Case{"XX000", ErrorCode::kInternal, false}}) {
    const auto error = to_error(c.sqlstate, "ctx", "msg");
    EXPECT_EQ(error.code(), c.code) << c.sqlstate;
    EXPECT_EQ(error.retryable(), c.retryable) << c.sqlstate;
    EXPECT_EQ(error.message(), "ctx: postgres: msg");
  }
}

class PostgresStoreTest : public conformance::StoreFixture {
 protected:
  void SetUp() override {
    auto db = create_database();
    ASSERT_TRUE(db.has_value()) << db.error().to_string();
    db_ = *db;
    reopen();
  }
  core::Result<std::unique_ptr<Store>> open_store() override { return open_postgres_store(g_server->uri(db_)); }

  std::string db_;
};

TEST_F(PostgresStoreTest, AnUnreachableServerIsUnavailable) {
  // A port nobody listens on (the test server's, plus one, is as good a guess as any).
  auto opened = open_postgres_store(fmt::format("postgresql://postgres@127.0.0.1:{}/x?connect_timeout=2",
                                                g_server->port() + 1));
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(opened.error().message(), HasSubstr("open postgres store"));
  auto bad = open_postgres_store("postgresql://postgres@127.0.0.1:1:2/x");
  ASSERT_FALSE(bad.has_value());
}

TEST_F(PostgresStoreTest, ReplicasMigratingAtOnceAgreeOnTheSchema) {
  auto db = create_database(/*migrated=*/false);
  ASSERT_TRUE(db.has_value()) << db.error().to_string();
  constexpr int kReplicas = 4;
  std::vector<core::Result<std::unique_ptr<Store>>> opened(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] { opened[i] = open_postgres_store(g_server->uri(*db)); });
  }
  for (auto& t : threads) t.join();
  for (const auto& store : opened) {
    ASSERT_TRUE(store.has_value()) << store.error().to_string();
    EXPECT_EQ((*store)->schema_version(), static_cast<int>(schema_migrations().size()));
  }
}

// Two processes that each check for an open incident and then open one (what two replicas of the
// engine would do with the same alert) cannot both commit: the second gets a retryable error.
TEST_F(PostgresStoreTest, ConflictingTransactionsOfTwoProcessesFailRetryably) {
  auto other = open_store();
  ASSERT_TRUE(other.has_value()) << other.error().to_string();
  Incident incident;
  incident.title = "t";
  incident.severity = "major";
  incident.group_key = "g";
  incident.opened_at = at(0);
  auto check_then_insert = [&](Tx& tx) -> Status {
    if (TOCSIN_TRY(tx.find_open_incident("g"))) return core::ok();
    TOCSIN_TRY(tx.insert_incident(incident));
    return core::ok();
  };
  auto status = store_->write([&](Tx& tx) -> Status {
    if (TOCSIN_TRY(tx.find_open_incident("g"))) return core::ok();
    // Meanwhile the other process does the same and commits first.
    auto theirs = (*other)->write(check_then_insert);
    EXPECT_TRUE(theirs.has_value()) << theirs.error().to_string();
    TOCSIN_TRY(tx.insert_incident(incident));
    return core::ok();
  });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kUnavailable) << status.error().to_string();
  EXPECT_TRUE(status.error().retryable());
  // Retried, it sees the other's incident: one incident in all.
  ASSERT_TRUE(store_->write(check_then_insert).has_value());
  IncidentFilter all;
  EXPECT_EQ(list(all).size(), 1u);
}

// Two replicas flushing one alert group: each reads the group's notification-log entry and, when
// nothing newer was sent, creates a notification and writes the entry. Both read and write the
// same row, so the second to commit fails retryably; retried, it sees the first one's entry and
// sends nothing. The same holds when an older entry is there (the repeat interval is over).
TEST_F(PostgresStoreTest, TwoProcessesFlushingOneAlertGroupConflict) {
  auto other = open_store();
  ASSERT_TRUE(other.has_value()) << other.error().to_string();
  NotificationLogEntry entry;
  entry.receiver = "ops";
  entry.group_key = "{}:{alertname=\"A\"}";
  entry.firing = {1, 2};
  entry.expires_at = at(1000000);
  Notification page;
  page.target = "channel:ops";
  page.channel = "webhook";
  int notified = 0;
  auto flush = [&](Tx& tx) -> Status {
    auto sent = TOCSIN_TRY(tx.get_nflog(entry.receiver, entry.group_key));
    if (sent && sent->at >= entry.at) return core::ok();
    TOCSIN_TRY(tx.insert_notification(page));
    TOCSIN_RETURN_IF_ERROR(tx.upsert_nflog(entry));
    ++notified;
    return core::ok();
  };
  for (int64_t flush_at : {0, 500}) {
    SCOPED_TRACE(flush_at == 0 ? "no entry yet" : "an older entry");
    entry.at = page.created_at = page.next_attempt_at = at(flush_at);
    auto status = store_->write([&](Tx& tx) -> Status {
      TOCSIN_TRY(tx.get_nflog(entry.receiver, entry.group_key));
      // Meanwhile the other replica flushes the same group and commits first.
      auto theirs = (*other)->write(flush);
      EXPECT_TRUE(theirs.has_value()) << theirs.error().to_string();
      TOCSIN_TRY(tx.insert_notification(page));
      return tx.upsert_nflog(entry);
    });
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().code(), ErrorCode::kUnavailable) << status.error().to_string();
    EXPECT_TRUE(status.error().retryable());
    ASSERT_TRUE(store_->write(flush).has_value());
  }
  EXPECT_EQ(notified, 2);
  read([&](Tx& tx) { EXPECT_EQ(value_of(tx.list_notifications(0)).size(), 2u); });
}

TEST_F(PostgresStoreTest, TextWithANulByteIsRefusedAndChangesNothing) {
  Incident incident;
  incident.title = std::string("a\0b", 3);
  incident.severity = "major";
  incident.group_key = "g";
  incident.opened_at = at(0);
  auto status = store_->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.insert_incident(incident));
    return core::ok();
  });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().message(), HasSubstr("NUL"));
  EXPECT_TRUE(list(IncidentFilter{}).empty());
}

// Incident fields every test here fills the same way.
Incident incident_titled(std::string title) {
  Incident i;
  i.title = std::move(title);
  i.severity = "major";
  i.group_key = i.title;
  i.opened_at = at(0);
  return i;
}

// Sessions (backends) the server has open on database `db`, not counting the one asking.
int64_t backends_on(const std::string& db) {
  auto conn = Connection::open(g_server->uri("postgres"));
  EXPECT_TRUE(conn.has_value()) << conn.error().to_string();
  if (!conn) return -1;
  auto statement = (*conn)->prepare(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()");
  EXPECT_TRUE(statement.has_value());
  if (!statement || !(*statement)->bind_all(db) || !(*statement)->step().value_or(false)) return -1;
  return (*statement)->column_int64(0);
}

// backends_on(db) once it is `want`, or what it is after ten seconds: a session ends a moment
// after its client closed it or it was terminated (waiting for a condition, not timing anything).
int64_t backends_once(const std::string& db, int64_t want) {
  int64_t count = backends_on(db);
  for (int i = 0; i < 1000 && count != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    count = backends_on(db);
  }
  return count;
}

// The process ids of the sessions the server has open on database `db`, not counting the one asking.
std::vector<int64_t> backend_pids(const std::string& db) {
  std::vector<int64_t> pids;
  auto conn = Connection::open(g_server->uri("postgres"));
  EXPECT_TRUE(conn.has_value()) << conn.error().to_string();
  if (!conn) return pids;
  auto statement = (*conn)->prepare("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()");
  EXPECT_TRUE(statement.has_value());
  if (!statement || !(*statement)->bind_all(db)) return pids;
  while ((*statement)->step().value_or(false)) pids.push_back((*statement)->column_int64(0));
  return pids;
}

// Whether every one of these server processes (on this machine) has exited, once they all have or
// after ten seconds. Why not pg_stat_activity alone: a terminated backend leaves it a moment before
// its process exits and closes its socket, and a client that looks in between still finds its
// connection open (seen once under ASan: the next transaction failed instead of reconnecting).
bool processes_gone(const std::vector<int64_t>& pids) {
  auto all_gone = [&] {
    for (const int64_t pid : pids) {
      if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) return false;
    }
    return true;
  };
  for (int i = 0; i < 1000 && !all_gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return all_gone();
}

// A one-shot signal a thread can wait for. The wait's bound only turns a deadlock (the behaviour
// under test missing) into a failure instead of a hung test; it measures nothing.
class Signal {
 public:
  void notify() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

TEST_F(PostgresStoreTest, ThePoolOpensItsConnectionsAtStart) {
  store_.reset();
  ASSERT_EQ(backends_once(db_, 0), 0);
  auto store = open_postgres_store(g_server->uri(db_), PoolOptions{.size = 3});
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  EXPECT_EQ(backends_on(db_), 3);
  store->reset();
  EXPECT_EQ(backends_once(db_, 0), 0) << "closing the store closes every connection";
}

TEST_F(PostgresStoreTest, APoolSizeOutsideItsRangeIsRefused) {
  for (int size : {0, -1, kMaxPoolSize + 1}) {
    auto store = open_postgres_store(g_server->uri(db_), PoolOptions{.size = size});
    ASSERT_FALSE(store.has_value()) << size;
    EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(store.error().message(), HasSubstr(fmt::format("a pool of {} connections; expected 1 to {}", size,
                                                               kMaxPoolSize)));
  }
}

// With one connection, reads and writes share it: both work, one at a time.
TEST_F(PostgresStoreTest, APoolOfOneServesReadsAndWrites) {
  auto store = open_postgres_store(g_server->uri(db_), PoolOptions{.size = 1});
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  store_ = std::move(*store);
  const int64_t id = insert_incident(incident_titled("one"));
  auto read = get_incident(id);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->title, "one");
}

// A write holds its transaction open (its insert not committed) until a read on another thread has
// finished: with one connection for everything the read would wait for the write, and neither
// would finish. The read sees the last committed state, not the open write's row.
TEST_F(PostgresStoreTest, ReadsRunWhileAWriteTransactionIsOpen) {
  const int64_t committed = insert_incident(incident_titled("committed"));
  Signal write_open, read_done;
  auto writer = std::async(std::launch::async, [&] {
    return store_->write([&](Tx& tx) -> Status {
      TOCSIN_TRY(tx.insert_incident(incident_titled("open")));
      write_open.notify();
      if (!read_done.wait()) return std::unexpected(core::Error::internal("the read never finished"));
      return core::ok();
    });
  });
  ASSERT_TRUE(write_open.wait());
  // Two reads at once as well: each waits inside its transaction for the other to be inside its own.
  Signal first_in, second_in;
  auto read_while_other_reads = [&](Signal& mine, Signal& theirs) {
    std::vector<Incident> seen;
    auto status = store_->read([&](Tx& tx) -> Status {
      seen = TOCSIN_TRY(tx.list_incidents(IncidentFilter{}));
      mine.notify();
      if (!theirs.wait()) return std::unexpected(core::Error::internal("the other read never started"));
      return core::ok();
    });
    EXPECT_TRUE(status.has_value()) << status.error().to_string();
    return seen;
  };
  auto other_reader = std::async(std::launch::async, [&] { return read_while_other_reads(second_in, first_in); });
  const auto seen = read_while_other_reads(first_in, second_in);
  const auto seen_by_other = other_reader.get();
  read_done.notify();
  auto written = writer.get();
  ASSERT_TRUE(written.has_value()) << written.error().to_string();
  for (const auto* reads : {&seen, &seen_by_other}) {
    ASSERT_EQ(reads->size(), 1u);
    EXPECT_EQ(reads->front().id, committed);
  }
  EXPECT_EQ(list(IncidentFilter{}).size(), 2u) << "the write committed once the reads were done";
}

// A read whose fn throws gives its connection back: with one read connection, the reads after it
// would otherwise wait for ever.
TEST_F(PostgresStoreTest, AReadThatThrowsGivesItsConnectionBack) {
  auto store = open_postgres_store(g_server->uri(db_), PoolOptions{.size = 2});
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  store_ = std::move(*store);
  const int64_t id = insert_incident(incident_titled("kept"));
  for (int i = 0; i < 2; ++i) {
    EXPECT_THROW((void)store_->read([](Tx& tx) -> Status {
      TOCSIN_TRY(tx.list_incidents(IncidentFilter{}));
      throw std::runtime_error("fn failed");
    }),
                 std::runtime_error);
  }
  auto after = std::async(std::launch::async, [&] { return get_incident(id); });
  if (after.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "a read waits for ever: the read connection was not given back";
    std::_Exit(1);  // the waiting thread cannot be joined
  }
  auto incident = after.get();
  ASSERT_TRUE(incident.has_value());
  EXPECT_EQ(incident->title, "kept");
}

// pg_terminate_backend ends every session of the store (what an administrator, a pooler or a
// failover does): the next transaction on each connection opens a new session instead of failing.
TEST_F(PostgresStoreTest, AConnectionWhoseSessionWasEndedIsReplaced) {
  const int64_t before = insert_incident(incident_titled("before"));
  ASSERT_GE(backends_on(db_), 2);
  const std::vector<int64_t> ended = backend_pids(db_);
  ASSERT_TRUE(g_server
                  ->exec("postgres", fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                                 "WHERE datname = '{}' AND pid <> pg_backend_pid()",
                                                 db_))
                  .has_value());
  ASSERT_EQ(backends_once(db_, 0), 0);
  ASSERT_TRUE(processes_gone(ended)) << "the ended sessions' server processes are still running";
  auto read = get_incident(before);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->title, "before");
  const int64_t after = insert_incident(incident_titled("after"));
  EXPECT_GT(after, before);
  EXPECT_EQ(list(IncidentFilter{}).size(), 2u);
  EXPECT_GE(backends_on(db_), 2) << "the write and read connections are back";
}

// The server goes away (restart, failover): transactions fail with `unavailable` while it is down,
// and the store reconnects by itself once it is back. Runs last: it restarts the shared server.
TEST_F(PostgresStoreTest, ZzReconnectsAfterTheServerRestarts) {
  const int64_t before = insert_incident([] {
    Incident i;
    i.title = "before";
    i.severity = "major";
    i.group_key = "g";
    i.opened_at = at(0);
    return i;
  }());
  ASSERT_TRUE(g_server->stop().has_value());
  auto down = store_->read([](Tx& tx) -> Status {
    TOCSIN_TRY(tx.get_incident(1));
    return core::ok();
  });
  ASSERT_FALSE(down.has_value());
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable) << down.error().to_string();
  EXPECT_TRUE(down.error().retryable());
  auto restarted = g_server->restart();
  ASSERT_TRUE(restarted.has_value()) << restarted.error().to_string();
  auto up = get_incident(before);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->title, "before");
}

}  // namespace
}  // namespace tocsin::store::postgres
