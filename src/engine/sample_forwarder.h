// Forwarding samples to the replica that owns their series (docs/high-availability.md,
// "Detection across replicas"). The engine splits every ingested batch by owner
// (engine/ownership.h) and hands each other owner's part to a SampleForwarder, outside its mutex;
// the server's implementation posts it as remote_write (server/sample_forwarder.h), tests use a
// fake. What one ingest did is an IngestResult, merged over the local part and the forwarded ones.
// Thread-safety: forward() may be called from several threads at once (every ingesting thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"
#include "engine/ownership.h"
#include "ingest/remote_write.h"

namespace tocsin::engine {

struct IngestResult {
  size_t accepted = 0;  // appended and evaluated
  size_t dropped = 0;   // out of order, duplicate, or over the series limit
  size_t alert_transitions = 0;
  std::vector<int64_t> incidents_opened;

  void merge(const IngestResult& other) {
    accepted += other.accepted;
    dropped += other.dropped;
    alert_transitions += other.alert_transitions;
    incidents_opened.insert(incidents_opened.end(), other.incidents_opened.begin(), other.incidents_opened.end());
  }
};

class SampleForwarder {
 public:
  virtual ~SampleForwarder() = default;
  // Sends `series` to `to`, which ingests them as its own whatever its view says. Returns what
  // the owner ingested once it answered 2xx (it logged the samples first: they are durable
  // there); an error (unreachable, timeout, non-2xx) when not — the caller then ingests them
  // itself.
  virtual core::Result<IngestResult> forward(const Member& to, const std::vector<ingest::Series>& series) = 0;
};

}  // namespace tocsin::engine
