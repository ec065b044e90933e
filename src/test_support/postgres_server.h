// For tests only: a throwaway PostgreSQL server. start() runs initdb into a fresh temporary
// directory and starts `postgres` as a child process on a free 127.0.0.1 port (trust
// authentication, user postgres, durability off for speed); the destructor stops it and removes the
// directory. The child asks the kernel for SIGQUIT (immediate shutdown) when the test process dies,
// so a crashed or killed test binary leaves no server behind.
// PostgreSQL refuses to run as root, so under root (CI) initdb (through runuser) and the server
// run as the `postgres` system user, and the directory is handed to that user.
// The server binaries are looked up in $TOCSIN_PG_BINDIR, then the newest
// /usr/lib/postgresql/*/bin (Debian). When they are missing, start() fails saying what to install:
// tests that need PostgreSQL must fail, not skip (scripts/setup installs it).
// Thread-safety: none; one per test binary, set up before the tests run.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tocsin::test_support {

class PostgresServer {
 public:
  static core::Result<std::unique_ptr<PostgresServer>> start() {
    auto server = std::unique_ptr<PostgresServer>(new PostgresServer());
    TOCSIN_RETURN_IF_ERROR(server->init());
    TOCSIN_RETURN_IF_ERROR(server->start_server());
    return server;
  }

  ~PostgresServer() {
    if (pid_ > 0) stop_child(SIGQUIT);  // immediate shutdown: the data is thrown away anyway
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // A libpq URI for database `db` as the superuser.
  std::string uri(std::string_view db) const { return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, db); }

  // Runs SQL (no parameters) in database `db`, e.g. CREATE DATABASE from "postgres".
  core::Status exec(std::string_view db, std::string_view sql) const {
    PGconn* conn = PQconnectdb(uri(db).c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn);
      PQfinish(conn);
      return std::unexpected(core::Error::unavailable(fmt::format("connect to the test server: {}", message)));
    }
    PGresult* result = PQexec(conn, std::string(sql).c_str());
    const auto status = PQresultStatus(result);
    std::string message = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return std::unexpected(core::Error::internal(fmt::format("{}: {}", sql, message)));
    }
    return core::ok();
  }

  // Stops the server (fast shutdown: connections are cut) and starts it again on the same port.
  core::Status stop() {
    if (pid_ > 0) stop_child(SIGINT);
    return core::ok();
  }
  core::Status restart() { return start_server(); }

 private:
  PostgresServer() = default;

  static std::string find_bindir() {
    if (const char* env = std::getenv("TOCSIN_PG_BINDIR"); env && *env) return env;
    std::filesystem::path best;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const auto bin = entry.path() / "bin";
      // Version directories are numbers; the highest one wins.
      if (std::filesystem::exists(bin / "initdb") && std::filesystem::exists(bin / "postgres") &&
          (best.empty() || std::stoi(entry.path().filename().string()) > std::stoi(best.parent_path().filename().string()))) {
        best = bin;
      }
    }
    return best.string();
  }

  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  // Runs a shell command as the server's user; its output goes to the log, which errors quote.
  core::Status run(const std::string& command) const {
    const std::string line = fmt::format("{}{} >>{} 2>&1", as_user_, command, log_.string());
    if (std::system(line.c_str()) != 0) {
      std::ifstream in(log_);
      std::stringstream text;
      text << in.rdbuf();
      std::string tail = text.str();
      if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
      return std::unexpected(core::Error::internal(fmt::format("test PostgreSQL: `{}` failed:\n{}", command, tail)));
    }
    return core::ok();
  }

  core::Status init() {
    bindir_ = find_bindir();
    if (bindir_.empty()) {
      return std::unexpected(core::Error::failed_precondition(
          "PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin: install the "
          "postgresql package (scripts/setup does), or set TOCSIN_PG_BINDIR"));
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "tocsin-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return std::unexpected(core::Error::internal("mkdtemp failed"));
    dir_ = pattern;
    data_ = dir_ / "data";
    log_ = dir_ / "server.log";
    std::ofstream(log_).close();
    std::ofstream(dir_ / "postgres.log").close();
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) {
        return std::unexpected(core::Error::failed_precondition(
            "running as root, and there is no `postgres` user to run PostgreSQL as: install the postgresql package"));
      }
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0 || chown(log_.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
          chown((dir_ / "postgres.log").c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return std::unexpected(core::Error::internal(fmt::format("chown {} failed", dir_.string())));
      }
      as_user_ = "runuser -u postgres -- ";
      uid_ = static_cast<int>(pw->pw_uid);
      gid_ = static_cast<int>(pw->pw_gid);
    }
    return run(fmt::format("{}/initdb -D {} -U postgres -A trust -E UTF8 --locale=C --no-sync --no-instructions",
                           bindir_, data_.string()));
  }

  void stop_child(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  core::Status start_server() {
    if (port_ == 0) port_ = free_port();
    // The port was free a moment ago; should another process take it first, try another.
    core::Status started;
    for (int attempt = 0; attempt < 3; ++attempt) {
      started = spawn();
      if (started) break;
      port_ = free_port();
    }
    return started;
  }

  // Starts `postgres` in the foreground as a child and waits until it accepts connections.
  core::Status spawn() {
    const std::string postgres = bindir_ + "/postgres";
    const std::string port = std::to_string(port_);
    const std::string log = (dir_ / "postgres.log").string();
    std::vector<std::string> args = {postgres, "-D", data_.string(), "-p", port, "-k", dir_.string(),
                                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return std::unexpected(core::Error::internal("fork failed"));
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      if (uid_ >= 0 && (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(gid_)) != 0 ||
                        setuid(static_cast<uid_t>(uid_)) != 0)) {
        _exit(126);
      }
      // After the uid change, which clears it; and the parent may already be gone.
      prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (getppid() != parent) _exit(0);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(postgres.c_str(), argv.data());
      _exit(127);
    }
    pid_ = pid;
    const std::string conninfo = fmt::format("host=127.0.0.1 port={} dbname=postgres user=postgres connect_timeout=2", port_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(conninfo.c_str()) == PQPING_OK) return core::ok();
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        return std::unexpected(core::Error::internal(fmt::format("test PostgreSQL exited at start:\n{}", text.str())));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop_child(SIGQUIT);
    return std::unexpected(core::Error::internal("test PostgreSQL did not accept connections within 60 s"));
  }

  std::string bindir_;
  std::string as_user_;
  std::filesystem::path dir_;
  std::filesystem::path data_;
  std::filesystem::path log_;
  int port_ = 0;
  int uid_ = -1;  // the user to run the server as; -1 = this process's
  int gid_ = -1;
  pid_t pid_ = -1;  // of the running server
};

}  // namespace tocsin::test_support
