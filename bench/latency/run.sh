#!/usr/bin/env bash
# detection latency: jumped sample -> webhook, tocsin vs Prometheus + Alertmanager.
# Needs scripts/bench-setup (the servers) and a configured build dir (BUILD_DIR, default build/);
# builds `tocsin` and `tocsin_latency_bench` there first. Extra arguments go to run.py
# (e.g. --n 500, --n-prometheus 50, --only tocsin, --json). See docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target tocsin tocsin_latency_bench >/dev/null
exec python3 "$here/run.py" --build-dir "$build" "$@"
