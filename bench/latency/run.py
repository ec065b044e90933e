#!/usr/bin/env python3
"""Detection-latency benchmark driver (bench/latency): the same jump through tocsin and through
Prometheus + Alertmanager, each started on fresh temporary data dirs and free loopback ports and
stopped after; prints p50/p99 for both and the ratio. Standard library only.
See docs/benchmarks.md and latency.cc for what exactly is timed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from servers import free_port, wait_ready, stop  # noqa: E402  (bench/servers.py)

TOCSIN_CONFIG = """\
server:
  listen: 127.0.0.1:{port}
  data_dir: {data}
  log_level: warn
channels:
  - {{name: bench-hook, type: webhook, url: "http://127.0.0.1:{receiver}/hook", format: alertmanager}}
escalation_policies:
  - id: bench
    levels:
      - {{after: 0s, notify: ["channel:bench-hook"]}}
rules:
  - name: BenchJump
    select: bench_jump
    detector: {{kind: threshold, above: 100}}
    for: 0s
    flap_window: 0s
    severity: critical
    labels: {{incident_type: bench}}
routes:
  receiver: bench-hook
  group_by: [alertname, iteration]   # one incident (and one page) per iteration
  group_wait: 0s
plans:
  - id: bench
    title: Latency bench
    match: ['incident_type="bench"']
    severity: critical
    escalation: bench
"""

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{am}"]}}]
scrape_configs:
  - job_name: bench
    static_configs: [{{targets: ["127.0.0.1:{target}"]}}]
"""

PROMETHEUS_RULES = """\
groups:
  - name: bench
    rules:
      - alert: BenchJump
        expr: bench_jump > 100
        for: 0s
        labels: {severity: critical}
"""

ALERTMANAGER_CONFIG = """\
route:
  receiver: bench
  group_by: [alertname, iteration]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:{receiver}/hook
        send_resolved: false
"""


def start(argv, log_path):
    log = open(log_path, "w")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def measure(argv):
    out = subprocess.run(argv, capture_output=True, text=True)
    if not out.stdout.strip():
        raise RuntimeError(f"latency tool failed: {out.stderr}")
    if out.stderr.strip():
        print(out.stderr.strip(), file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_tocsin(args, tmp):
    port, receiver = free_port(), free_port()
    data = os.path.join(tmp, "tocsin")
    os.makedirs(data)
    cfg = os.path.join(tmp, "tocsin.yaml")
    with open(cfg, "w") as f:
        f.write(TOCSIN_CONFIG.format(port=port, data=data, receiver=receiver))
    proc = start([args.tocsin, "serve", "--config", cfg], os.path.join(tmp, "tocsin.log"))
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        return measure([args.tool, "--mode", "tocsin", "--write-url", f"http://127.0.0.1:{port}/api/v1/write",
                        "--receiver-port", str(receiver), "--n", str(args.n), "--timeout", "10"])
    finally:
        stop(proc)


def run_prometheus(args, tmp):
    prom_port, am_port, target, receiver = free_port(), free_port(), free_port(), free_port()
    rules = os.path.join(tmp, "rules.yml")
    with open(rules, "w") as f:
        f.write(PROMETHEUS_RULES)
    pcfg = os.path.join(tmp, "prometheus.yml")
    with open(pcfg, "w") as f:
        f.write(PROMETHEUS_CONFIG.format(rules=rules, am=am_port, target=target))
    acfg = os.path.join(tmp, "alertmanager.yml")
    with open(acfg, "w") as f:
        f.write(ALERTMANAGER_CONFIG.format(receiver=receiver))
    os.makedirs(os.path.join(tmp, "prom-data"))
    os.makedirs(os.path.join(tmp, "am-data"))
    am = start([args.alertmanager, f"--config.file={acfg}", f"--storage.path={tmp}/am-data",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=warn"],
               os.path.join(tmp, "alertmanager.log"))
    prom = None
    try:
        wait_ready(f"http://127.0.0.1:{am_port}/-/ready", am)
        prom = start([args.prometheus, f"--config.file={pcfg}", f"--storage.tsdb.path={tmp}/prom-data",
                      f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                     os.path.join(tmp, "prometheus.log"))
        wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom)
        return measure([args.tool, "--mode", "prometheus", "--target-port", str(target), "--receiver-port",
                        str(receiver), "--n", str(args.n_prometheus), "--timeout", "10"])
    finally:
        if prom:
            stop(prom)
        stop(am)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", os.path.join(root, "build")))
    p.add_argument("--tocsin")
    p.add_argument("--tool")
    p.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    p.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager")
    p.add_argument("--n", type=int, default=200, help="measured jumps through tocsin")
    p.add_argument("--n-prometheus", type=int, default=100, help="measured jumps through Prometheus (about 2 s each)")
    p.add_argument("--only", choices=["tocsin", "prometheus"])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    args.tocsin = args.tocsin or os.path.join(args.build_dir, "src/cli/tocsin")
    args.tool = args.tool or os.path.join(args.build_dir, "bench/tocsin_latency_bench")
    for path in (args.tocsin, args.tool):
        if not os.access(path, os.X_OK):
            sys.exit(f"run.py: {path} not found; build it (ninja -C BUILD_DIR tocsin tocsin_latency_bench)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-latency-") as tmp:
        if args.only in (None, "tocsin"):
            print(f"# tocsin: {args.n} jumps", file=sys.stderr)
            results["tocsin"] = run_tocsin(args, tmp)
        if args.only in (None, "prometheus"):
            print(f"# prometheus + alertmanager: {args.n_prometheus} jumps", file=sys.stderr)
            results["prometheus+alertmanager"] = run_prometheus(args, tmp)
    print("\ndetection latency: jumped sample -> webhook request received (ms)\n")
    print("| pipeline                 |   n | timeouts |    p50 |    p90 |    p99 |    max |")
    print("|--------------------------|-----|----------|--------|--------|--------|--------|")
    for name, r in results.items():
        print(f"| {name:<24} | {r['n']:>3} | {r['timeouts']:>8} | {r['p50_ms']:>6.1f} | {r['p90_ms']:>6.1f} | "
              f"{r['p99_ms']:>6.1f} | {r['max_ms']:>6.1f} |")
    if len(results) == 2:
        t, pr = results["tocsin"], results["prometheus+alertmanager"]
        if t["p50_ms"] > 0 and t["p99_ms"] > 0:
            print(f"\nPrometheus+Alertmanager / tocsin: {pr['p50_ms'] / t['p50_ms']:.0f}x at p50, "
                  f"{pr['p99_ms'] / t['p99_ms']:.0f}x at p99")
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
