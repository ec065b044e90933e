#include "detect/absent/absent.h"

#include <fmt/format.h>

#include "core/duration.h"
#include "detect/deviation.h"
#include "detect/snapshot_codec.h"
#include "detect/param_reader.h"

namespace tocsin::detect {
namespace {

constexpr std::string_view kTag = "abs1";
constexpr uint8_t kVersion = 1;

class AbsentSeries final : public SeriesDetector {
 public:
  explicit AbsentSeries(core::Duration after) : after_(after) {}

  Decision update(core::Timestamp ts, double) override {
    last_ = ts;
    fired_ = false;
    return {0, false};
  }

  std::optional<core::Timestamp> next_check() const override {
    if (!last_ || fired_) return std::nullopt;
    return *last_ + after_;
  }

  Decision check(core::Timestamp now) override {
    if (!last_) return {0, false};
    const auto gap = now - *last_;
    if (gap >= after_) {
      fired_ = true;
      return {1, true};
    }
    const double r = static_cast<double>(std::max<int64_t>(gap.count(), 0)) / static_cast<double>(after_.count());
    return {ratio_score(r), false};
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    w.u8(static_cast<uint8_t>((last_ ? 1 : 0) | (fired_ ? 2 : 0)));
    w.i64(last_ ? core::to_unix_ms(*last_) : 0);
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    const auto bits = r.u8();
    const auto last = r.i64();
    if (!bits || *bits > 3 || !last || (!(*bits & 1) && (*bits != 0 || *last != 0))) {
      return std::unexpected(SnapshotReader::corrupt("bad state"));
    }
    TOCSIN_RETURN_IF_ERROR(r.finish());
    last_ = (*bits & 1) ? std::optional(core::from_unix_ms(*last)) : std::nullopt;
    fired_ = (*bits & 2) != 0;
    return {};
  }

 private:
  core::Duration after_;
  std::optional<core::Timestamp> last_;
  bool fired_ = false;
};

class AbsentSpec final : public DetectorSpec {
 public:
  explicit AbsentSpec(core::Duration after) : after_(after) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<AbsentSeries>(after_); }
  std::string describe() const override { return fmt::format("no sample for {}", core::format_duration(after_)); }

 private:
  core::Duration after_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_absent(const config::DetectorConfig& config) {
  ParamReader params(config);
  const auto after = TOCSIN_TRY(params.duration("after"));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (!after) return std::unexpected(params.error("absent detector needs `after` (e.g. after: 5m)"));
  if (after->count() <= 0) return std::unexpected(params.error_at("after", "expected a duration > 0"));
  return std::make_unique<AbsentSpec>(*after);
}

}  // namespace tocsin::detect
