#include "server/store_factory.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/regex.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::server {

core::Result<std::unique_ptr<store::Store>> open_store(const config::ServerConfig& server,
                                                       store::sqlite::StorageHealth* health, bool sends_notifications) {
  if (server.store.empty()) {
    return store::sqlite::open_sqlite_store(std::filesystem::path(server.data_dir) / "tocsin.db", health,
                                            sends_notifications);
  }
  auto opened = store::postgres::open_postgres_store(server.store, {.size = server.store_pool_size});
  if (!opened) {
    return std::unexpected(core::Error(opened.error().code(), fmt::format("{}: {}", describe_store(server),
                                                                         opened.error().message()))
                               .retryable(opened.error().retryable())
                               .field("server.store"));
  }
  return opened;
}

std::string describe_store(const config::ServerConfig& server) {
  if (server.store.empty()) return (std::filesystem::path(server.data_dir) / "tocsin.db").string();
  // postgres://user:secret@host/db -> postgres://user:***@host/db
  static const core::Regex kPassword = core::Regex::compile(R"(^(postgres(?:ql)?://[^:@/]*:)[^@/]*@)").value();
  return kPassword.replace_all(server.store, "${1}***@");
}

}  // namespace tocsin::server
