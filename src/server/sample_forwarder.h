// The network half of partitioned ingestion (docs/high-availability.md, "Detection across
// replicas"): sends a part of an ingested batch to the replica that owns its series as a
// remote_write request — POST {member.address}/api/v1/write, snappy-compressed protobuf, with
// X-Tocsin-Forwarded-From naming this replica (the owner then ingests it whatever its own view
// says, and answers 200 with its counts) and the auth.intake secret as a bearer token when one is
// configured. A short timeout (1 s to connect, 5 s in all): a replica that does not answer is
// treated as gone, and the caller ingests the part itself.
// Thread-safety: forward() may be called from any number of threads; curl handles (and their
// kept-alive connections) are reused across calls.
#pragma once

#include <string>

#include "core/time.h"
#include "engine/sample_forwarder.h"
#include "notify/curl_global.h"

namespace tocsin::server {

struct ForwarderOptions {
  std::string replica_id;     // sent as X-Tocsin-Forwarded-From
  std::string intake_secret;  // empty: no Authorization header
  std::string ca_file;        // for https peers: a CA bundle (empty: the system's)
  core::Duration connect_timeout = std::chrono::seconds(1);
  core::Duration timeout = std::chrono::seconds(5);
};

class HttpSampleForwarder final : public engine::SampleForwarder {
 public:
  explicit HttpSampleForwarder(ForwarderOptions options);
  core::Result<engine::IngestResult> forward(const engine::Member& to,
                                             const std::vector<ingest::Series>& series) override;

 private:
  ForwarderOptions options_;
  notify::CurlHandles handles_;
};

}  // namespace tocsin::server
