// What a benchmark reads about a server process from /proc, and its own CPU time. Linux only.
// CPU time is utime + stime of the whole process (all threads), in clock ticks (10 ms here).
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace tocsin::bench {

// utime + stime of process `pid`, in seconds; -1 if it cannot be read.
inline double process_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t rparen = s.rfind(')');
  if (rparen == std::string::npos) return -1;
  std::istringstream in(s.substr(rparen + 2));
  std::string field;
  // after "pid (comm) ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15)
  std::vector<std::string> fields;
  while (in >> field && fields.size() < 13) fields.push_back(field);
  if (fields.size() < 13) return -1;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) / ticks;
}

// Fields 14 to 17 of /proc/PID/stat (utime, stime, cutime, cstime) and field 4 (ppid); empty if
// the process is gone.
inline std::vector<double> stat_times(int pid, int* ppid = nullptr) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t rparen = s.rfind(')');
  if (rparen == std::string::npos) return {};
  std::istringstream in(s.substr(rparen + 2));
  std::vector<std::string> fields;
  std::string field;
  while (in >> field && fields.size() < 15) fields.push_back(field);
  if (fields.size() < 15) return {};
  if (ppid) *ppid = std::atoi(fields[1].c_str());
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::vector<double> out;
  for (int i = 11; i < 15; ++i) out.push_back(std::atof(fields[i].c_str()) / ticks);
  return out;
}

// CPU seconds of a server made of several processes (a PostgreSQL postmaster and its backends):
// the process's own time, its children reaped so far (cutime + cstime) and those still running.
// A child that exits moves from the last term to the second, so the sum only grows.
inline double process_tree_cpu_seconds(int pid) {
  const auto own = stat_times(pid);
  if (own.empty()) return -1;
  double total = own[0] + own[1] + own[2] + own[3];
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int ppid = 0;
    const auto child = stat_times(std::atoi(name.c_str()), &ppid);
    if (ppid == pid && !child.empty()) total += child[0] + child[1];
  }
  return total;
}

// process_cpu_seconds summed over several processes (replicas of one server).
inline double processes_cpu_seconds(const std::vector<int>& pids) {
  double total = 0;
  for (int pid : pids) total += process_cpu_seconds(pid);
  return total;
}

// A "Vm…:" line of /proc/PID/status (VmRSS, VmHWM) in bytes; -1 if absent.
inline long long status_bytes(int pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1) * 1024;
  }
  return -1;
}

// A field of /proc/PID/io (wchar: bytes passed to write-like calls; write_bytes: bytes sent to the
// storage layer, page-cache writeback included); -1 if unreadable (another user's process).
inline long long io_bytes(int pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/io");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// This process's own user + system CPU time, in seconds.
inline double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace tocsin::bench
