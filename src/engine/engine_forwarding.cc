// Partitioned ingestion (docs/high-availability.md, "Detection across replicas"): Engine::ingest
// splits a batch by the owner of each series, ingests its own part, forwards the others' parts
// outside the engine mutex and ingests here whatever could not be forwarded. Kept apart from
// engine.cc: the single-replica path is engine.cc's ingest_local, reached with one branch.
#include <fmt/format.h>

#include <exception>
#include <future>
#include <type_traits>

#include "core/log.h"
#include "engine/engine.h"

namespace tocsin::engine {
namespace {

size_t sample_count(const std::vector<ingest::Series>& series) {
  size_t n = 0;
  for (const auto& s : series) n += s.points.size();
  return n;
}

// The wire form of a part: remote_write series (a sample batch: one series per sample).
std::vector<ingest::Series> as_series(const std::vector<core::Sample>& samples) {
  std::vector<ingest::Series> out;
  out.reserve(samples.size());
  for (const auto& s : samples) out.push_back({s.labels, {{s.value, s.ts}}});
  return out;
}

}  // namespace

core::Result<IngestResult> Engine::ingest(const std::vector<core::Sample>& samples) {
  if (!partitioning()) return ingest_local(samples);
  return ingest_routed(samples);
}

core::Result<IngestResult> Engine::ingest(const std::vector<ingest::Series>& series) {
  if (!partitioning()) return ingest_local(series);
  return ingest_routed(series);
}

template <class Batch>
core::Result<IngestResult> Engine::ingest_routed(const Batch& batch) {
  const std::shared_ptr<const SeriesOwnership> view = ownership();  // once per batch
  if (!view->partitioned()) return ingest_local(batch);
  const size_t self = view->self_index();
  std::vector<Batch> parts(view->members().size());
  for (const auto& item : batch) parts[view->owner_index(item.labels.fingerprint())].push_back(item);

  // The other owners' parts, each on a thread of its own, while this one ingests its own part.
  struct Remote {
    size_t member = 0;
    std::vector<ingest::Series> series;  // what goes on the wire
    std::future<core::Result<IngestResult>> sent;
    std::optional<core::Result<IngestResult>> inline_result;  // when no thread could be started
  };
  std::vector<Remote> remotes;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i == self || parts[i].empty()) continue;
    Remote r;
    r.member = i;
    if constexpr (std::is_same_v<Batch, std::vector<core::Sample>>) {
      r.series = as_series(parts[i]);
    } else {
      r.series = parts[i];
    }
    remotes.push_back(std::move(r));
  }
  SampleForwarder& forwarder = *options_.forwarder;
  for (auto& r : remotes) {
    try {
      r.sent = std::async(std::launch::async,
                          [&forwarder, &r, &view] { return forwarder.forward(view->members()[r.member], r.series); });
    } catch (const std::exception&) {  // no thread: send it from this one (below)
      r.inline_result = forwarder.forward(view->members()[r.member], r.series);
    }
  }
  core::Result<IngestResult> local =
      parts[self].empty() ? core::Result<IngestResult>(IngestResult{}) : ingest_local(parts[self]);
  IngestResult merged;
  core::Status fallback_error;
  for (auto& r : remotes) {
    core::Result<IngestResult> sent = r.inline_result ? std::move(*r.inline_result) : r.sent.get();
    const Member& to = view->members()[r.member];
    if (sent) {
      forward_ok_.inc();
      forwarded_samples_.inc(static_cast<double>(sample_count(r.series)));
      merged.merge(*sent);
      if (forward_failing_.exchange(false)) {
        core::log::info("forwarding samples works again", {{"to", to.id}});
      }
      continue;
    }
    // The owner did not take them (dead but still in the view, slow, refusing): nothing is lost,
    // this replica ingests them; the series' state is split until the view catches up.
    forward_failed_.inc();
    if (!forward_failing_.exchange(true)) {
      core::log::warn("forwarding samples to their owner failed: ingesting them here",
                      {{"to", to.id}, {"address", to.address}, {"error", sent.error().to_string()}});
    }
    auto here = ingest_local(parts[r.member]);
    if (!here) {
      if (fallback_error) fallback_error = std::unexpected(here.error());  // the first error
      continue;
    }
    merged.merge(*here);
  }
  if (!local) return std::unexpected(local.error());
  merged.merge(*local);
  TOCSIN_RETURN_IF_ERROR(fallback_error);
  return merged;
}

}  // namespace tocsin::engine
