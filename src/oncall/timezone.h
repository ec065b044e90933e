// An IANA time zone read from the system's TZif files (RFC 8536), because g++ 12's libstdc++ has
// no std::chrono time-zone database. A TimeZone maps UTC instants to local wall-clock time and
// back. It uses the 64-bit section of TZif v2+ files, and the POSIX TZ footer rule (e.g.
// "CET-1CEST,M3.5.0,M10.5.0/3") for instants after the last stored transition, so slim files and
// far-future dates work. Leap seconds are ignored (POSIX time).
//
// Thread-safety: TimeZone is an immutable value; copies share the parsed data and may be used from
// any thread. load() may be called concurrently: loaded zones are cached behind a mutex.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"
#include "core/result.h"
#include "core/time.h"

namespace tocsin::oncall {

class TimeZone {
 public:
  // "UTC" always works, without files (with either overload). Other names are read from /usr/share/zoneinfo once and
  // cached for the life of the process. An unknown or malformed zone is invalid_argument naming it.
  static core::Result<TimeZone> load(std::string_view name);
  // Reads `name` under another zoneinfo root (tests, bundled data); not cached.
  static core::Result<TimeZone> load(std::string_view name, const std::filesystem::path& zoneinfo_root);
  // Parses the bytes of a TZif file.
  static core::Result<TimeZone> from_tzif(std::string name, std::string_view tzif);
  // A zone described only by a POSIX TZ rule string, e.g. "EST5EDT,M3.2.0,M11.1.0".
  static core::Result<TimeZone> from_posix(std::string name, std::string_view rule);
  static TimeZone utc();

  const std::string& name() const;

  // Offset east of UTC in effect at `utc` (CEST is +2h, New York in winter is -5h).
  std::chrono::seconds offset_at(core::Timestamp utc) const;

  std::chrono::local_seconds to_local_seconds(core::Timestamp utc) const;
  config::LocalTime to_local(core::Timestamp utc) const;

  // The instant a local wall-clock time names. A time that occurs twice (DST fall-back) gives the
  // earlier instant; a time that does not exist (spring-forward gap) is shifted forward by the
  // gap, so 02:30 on a day clocks jump from 02:00 to 03:00 gives the instant of 03:30, as
  // PagerDuty and GoAlert do.
  core::Timestamp to_utc(std::chrono::local_seconds local) const;
  core::Timestamp to_utc(config::LocalTime local) const {
    return to_utc(std::chrono::local_seconds(local));
  }

 private:
  struct Data;
  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

  std::shared_ptr<const Data> data_;
};

}  // namespace tocsin::oncall
