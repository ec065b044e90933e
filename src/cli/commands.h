// The tocsin commands (SPEC §2), one function each, called by main.cc after parsing. Each returns
// the process exit code and prints failures as one line on stderr.
#pragma once

#include <string>

namespace tocsin::cli {

int run_init(const std::string& dir);
int run_check_config(const std::string& file);
// `simulated_clock`: empty, or the RFC 3339 start of a simulated clock (tests and drills only).
int run_serve(const std::string& config, const std::string& listen, const std::string& simulated_clock = "");
struct DemoOptions {
  double speed = 150;  // simulated seconds per wall second: the first drill is scored within a minute
  std::string listen = "127.0.0.1:8470";
  std::string pager = "127.0.0.1:9000";  // where the demo's pager listens (the demo config pages it)
  std::string dir = "tocsin-demo";
};
int run_demo(const DemoOptions& options);

struct IncidentCommand {
  std::string action;  // list | show | ack | resolve
  std::string id;
  std::string server;
  std::string token;
  std::string ca_file;  // --cacert: CAs to verify an https:// server with
  std::string actor;
  std::string status;  // list filter
  bool json = false;
};
int run_incident(const IncidentCommand& command);

struct OnCallCommand {
  std::string server;
  std::string token;
  std::string ca_file;   // --cacert: CAs to verify an https:// server with
  std::string at;        // RFC 3339; empty = the server's now
  std::string schedule;  // empty = every schedule
  bool json = false;
};
// Who is on call (GET /api/v1/oncall), as a table of schedule, person, until and source.
int run_oncall(const OnCallCommand& command);

}  // namespace tocsin::cli
