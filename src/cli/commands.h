// The tocsin commands (SPEC §2), one function each, called by main.cc after parsing. Each returns
// the process exit code and prints failures as one line on stderr.
#pragma once

#include <string>

namespace tocsin::cli {

int run_init(const std::string& dir);
int run_check_config(const std::string& file);
int run_serve(const std::string& config, const std::string& listen);
int run_demo(double speed, const std::string& listen, const std::string& dir);

struct IncidentCommand {
  std::string action;  // list | show | ack | resolve
  std::string id;
  std::string server;
  std::string token;
  std::string actor;
  std::string status;  // list filter
  bool json = false;
};
int run_incident(const IncidentCommand& command);

}  // namespace tocsin::cli
