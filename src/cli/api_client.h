// A small blocking HTTP client for the `tocsin incident …` and `tocsin oncall` commands (libcurl).
// Thread-safety: one request at a time per client.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tocsin::cli {

struct ApiResponse {
  int status = 0;
  std::string body;
};

class ApiClient {
 public:
  // `ca_file`: a PEM bundle of the CAs to verify an https:// server with, instead of the
  // system's (for a private CA or a self-signed certificate); empty = the system's.
  ApiClient(std::string base_url, std::string token, std::string ca_file = {})
      : base_url_(std::move(base_url)), token_(std::move(token)), ca_file_(std::move(ca_file)) {}
  core::Result<ApiResponse> get(const std::string& path) const;
  core::Result<ApiResponse> post(const std::string& path, const std::string& json_body) const;

 private:
  core::Result<ApiResponse> request(const std::string& method, const std::string& path, const std::string& body) const;
  std::string base_url_;
  std::string token_;
  std::string ca_file_;
};

// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters), so
// "+08:00" reaches the server as a plus, not a space.
std::string query_escape(std::string_view value);

}  // namespace tocsin::cli
