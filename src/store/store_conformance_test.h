// For tests only: the behaviour every store::Store implementation must have, as one GoogleTest
// suite parameterised by backend. store_conformance_test.cc holds the tests; each backend's test
// binary compiles it and instantiates the suite with a factory for its own backend:
//
//   TOCSIN_INSTANTIATE_STORE_CONFORMANCE(Sqlite, [] { return make_sqlite_backend(); });
//
// A backend gives each test a fresh, empty database (its factory is called once per test) and a
// few raw hooks for tests that must look under the store (damaged rows, the stored text of JSON).
// Thread-safety: none needed; one backend per test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "store/store.h"

namespace tocsin::store::conformance {

// Base of every timestamp in these tests: 2026-01-05T00:00:00Z.
inline constexpr int64_t kT0 = 1767571200000;
inline Timestamp at(int64_t offset_ms) { return core::from_unix_ms(kT0 + offset_ms); }

inline constexpr uint64_t kTopBitFingerprint = 0xfedcba9876543210ULL;

// One database of one backend, for one test.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // A new Store over this test's database (migrating it); may be called again after the previous
  // one is closed, or while it is open (a second process sharing the database).
  virtual core::Result<std::unique_ptr<Store>> open() = 0;
  // Runs SQL statements outside any Store (to damage rows or move the schema version).
  virtual core::Status exec(std::string_view sql) = 0;
  // The first row of a query, each column as text; empty when there is no row.
  virtual core::Result<std::vector<std::string>> query_row(std::string_view sql) = 0;
  // What open() errors name, e.g. the database file.
  virtual std::string where() const = 0;
  // The schema version this binary migrates to.
  virtual int latest_schema_version() const = 0;
};

using BackendFactory = std::function<core::Result<std::unique_ptr<StoreBackend>>()>;

// Helpers over store_, shared by the conformance suite and backend-specific fixtures.
class StoreFixture : public ::testing::Test {
 protected:
  virtual core::Result<std::unique_ptr<Store>> open_store() = 0;

  // Closes the store first: backends own what it points at (files, databases).
  void TearDown() override { store_.reset(); }

  void reopen() {
    store_.reset();
    auto opened = open_store();
    ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
    store_ = std::move(*opened);
  }

  // Runs fn in a write transaction and fails the test when it does not commit.
  void write(const std::function<void(Tx&)>& fn) {
    auto status = store_->write([&](Tx& tx) -> Status {
      fn(tx);
      return core::ok();
    });
    ASSERT_TRUE(status.has_value()) << status.error().to_string();
  }

  // Runs fn in a read transaction.
  void read(const std::function<void(Tx&)>& fn) {
    auto status = store_->read([&](Tx& tx) -> Status {
      fn(tx);
      return core::ok();
    });
    ASSERT_TRUE(status.has_value()) << status.error().to_string();
  }

  template <class T>
  static T value_of(Result<T> result) {
    EXPECT_TRUE(result.has_value()) << result.error().to_string();
    return result ? std::move(*result) : T{};
  }

  int64_t insert_incident(const Incident& incident) {
    int64_t id = 0;
    write([&](Tx& tx) { id = value_of(tx.insert_incident(incident)); });
    return id;
  }

  std::optional<Incident> get_incident(int64_t id) {
    std::optional<Incident> out;
    auto status = store_->read([&](Tx& tx) -> Status {
      out = TOCSIN_TRY(tx.get_incident(id));
      return core::ok();
    });
    EXPECT_TRUE(status.has_value()) << status.error().to_string();
    return out;
  }

  std::vector<Incident> list(const IncidentFilter& filter) {
    std::vector<Incident> out;
    auto status = store_->read([&](Tx& tx) -> Status {
      out = TOCSIN_TRY(tx.list_incidents(filter));
      return core::ok();
    });
    EXPECT_TRUE(status.has_value()) << status.error().to_string();
    return out;
  }

  std::unique_ptr<Store> store_;
};

class StoreTest : public StoreFixture, public ::testing::WithParamInterface<BackendFactory> {
 protected:
  void SetUp() override {
    auto backend = GetParam()();
    ASSERT_TRUE(backend.has_value()) << backend.error().to_string();
    backend_ = std::move(*backend);
    reopen();
  }
  core::Result<std::unique_ptr<Store>> open_store() override { return backend_->open(); }

  std::unique_ptr<StoreBackend> backend_;
};

using StoreDeathTest = StoreTest;

}  // namespace tocsin::store::conformance

// Instantiates the conformance suite (and its death tests) for one backend; `name` prefixes the
// test names (Sqlite/StoreTest.AlertRoundTripsEveryField/0).
#define TOCSIN_INSTANTIATE_STORE_CONFORMANCE(name, factory)                                             \
  INSTANTIATE_TEST_SUITE_P(name, StoreTest,                                                            \
                           ::testing::Values(::tocsin::store::conformance::BackendFactory(factory)));  \
  INSTANTIATE_TEST_SUITE_P(name, StoreDeathTest,                                                       \
                           ::testing::Values(::tocsin::store::conformance::BackendFactory(factory)))
