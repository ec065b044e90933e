#!/usr/bin/env bash
# Alert intake throughput and new-alert → webhook latency: tocsin vs Alertmanager 0.25, --repeat
# rounds (default 3), tables of medians and spreads. Needs scripts/bench-setup (Alertmanager) and a
# configured build dir (BUILD_DIR, default build/); builds `tocsin` and `tocsin_alerts_bench` there
# first. Extra arguments go to run.py (e.g. --only intake, --duration 30, --json). See
# docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target tocsin tocsin_alerts_bench >/dev/null
exec python3 "$here/run.py" --build-dir "$build" "$@"
