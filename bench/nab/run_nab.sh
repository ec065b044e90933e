#!/usr/bin/env bash
# Builds tocsin_nab_run, runs every registered anomaly detector over the NAB dev corpus and scores
# each with the shared NAB scorer (standard, reward_low_FP_rate, reward_low_FN_rate profiles; the
# scorer picks each profile's best threshold over all files, as NAB does).
#
#   bench/nab/run_nab.sh [DETECTOR...]      default: sigma ewma mad seasonal changepoint auto
#
# Environment: NAB_DATA (default ../shared/data/nab-dev), BUILD_DIR (default build-adv),
# OUT_DIR (default $BUILD_DIR/nab). Prints one table; per-detector JSON lands in $OUT_DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
nab="${NAB_DATA:-$root/../shared/data/nab-dev}"
scorer="${NAB_SCORER:-$root/../shared/tools/nab_score.py}"
build="${BUILD_DIR:-$root/build-adv}"
out="${OUT_DIR:-$build/nab}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" tocsin_nab_run >/dev/null
runner="$build/bench/tocsin_nab_run"

# threshold needs a per-series level and absent watches gaps: neither is an anomaly detector here.
wanted=("$@")
if [[ ${#wanted[@]} -eq 0 ]]; then wanted=(sigma ewma mad seasonal changepoint auto); fi
registered=" $("$runner" --list | tr '\n' ' ') "

printf '%-12s %10s %12s %12s   %s\n' detector standard low_FP low_FN thresholds
for d in "${wanted[@]}"; do
  if [[ "$registered" != *" $d "* ]]; then
    printf '%-12s %s\n' "$d" "(not registered in this build)"
    continue
  fi
  rm -rf "$out/$d"
  "$runner" --data "$nab/data" --out "$out/$d" --detector "$d" >/dev/null
  python3 "$scorer" --data "$nab/data" --labels "$nab/labels/combined_windows_dev.json" \
    --results "$out/$d" --json "$out/$d.json" >/dev/null
  python3 - "$d" "$out/$d.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
p = json.load(open(path))["profiles"]
def thr(k):
    t = p[k]["threshold"]
    return "never" if t is None else "%.6g" % t
print("%-12s %10.2f %12.2f %12.2f   %s / %s / %s" % (
    name, p["standard"]["normalised"], p["reward_low_FP_rate"]["normalised"],
    p["reward_low_FN_rate"]["normalised"], thr("standard"), thr("reward_low_FP_rate"),
    thr("reward_low_FN_rate")))
PY
done
