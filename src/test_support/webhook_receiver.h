// For tests only: a local webhook receiver (a real HTTP server on a free port) that records
// every request's path and JSON body. The first `fail_first` requests get HTTP 500.
// Thread-safety: the server thread records; readers take the lock.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/http.h"

namespace tocsin::test_support {

// A local webhook receiver that records what it gets. `fail_first` requests get HTTP 500.
class Receiver {
 public:
  explicit Receiver(int fail_first = 0) : fail_first_(fail_first) {
    server_ = http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
      std::lock_guard lock(mu_);
      if (fail_first_ > 0) {
        --fail_first_;
        return http::Response::error(500, "try later");
      }
      received_.push_back({r.path, nlohmann::json::parse(r.body, nullptr, false)});
      return http::Response::json(200, "{}");
    }).value();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }
  std::vector<std::pair<std::string, nlohmann::json>> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::vector<std::string> paths() {
    std::vector<std::string> out;
    for (const auto& [path, body] : received()) out.push_back(path);
    return out;
  }

 private:
  std::mutex mu_;
  int fail_first_;
  std::vector<std::pair<std::string, nlohmann::json>> received_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace tocsin::test_support
