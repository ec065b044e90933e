#!/usr/bin/env python3
"""Ingest benchmark driver (bench/ingest): the same remote_write workload against tocsin,
Prometheus and VictoriaMetrics, one after the other in one run, each server started on a fresh
temporary data dir on a free loopback port and stopped after. Prints a table and, with --json,
the raw numbers; with --repeat N, N rounds of it and their medians. Standard library only. See
docs/benchmarks.md.
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from servers import free_port, http_get, wait_ready, stop  # noqa: E402  (bench/servers.py)

TOCSIN_CONFIG = """\
server:
  listen: 127.0.0.1:{port}
  data_dir: {data}
  log_level: warn
rules:
  - name: BenchAuto
    select: '{{job="bench"}}'
    detector: {{kind: {detector}}}
    severity: warning
"""

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1m
  evaluation_interval: 1m
"""


def metric_sum(text, name, label_filter=None):
    total, seen = 0.0, False
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        if label_filter and label_filter not in (m.group(2) or ""):
            continue
        total += float(m.group(3))
        seen = True
    return total if seen else None


class Server:
    """name, argv, ready url, write url, how to read the server's own count of stored samples."""

    def __init__(self, name, argv, port, ready_path, counter, counter_filter=None, metrics_path="/metrics"):
        self.name, self.argv, self.port = name, argv, port
        self.ready = f"http://127.0.0.1:{port}{ready_path}"
        self.write = f"http://127.0.0.1:{port}/api/v1/write"
        self.metrics = f"http://127.0.0.1:{port}{metrics_path}"
        self.counter, self.counter_filter = counter, counter_filter


def make_server(kind, args, tmp):
    port = free_port()
    data = tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp)  # fresh each round (--repeat)
    if kind == "tocsin":
        cfg = os.path.join(tmp, "tocsin.yaml")
        with open(cfg, "w") as f:
            f.write(TOCSIN_CONFIG.format(port=port, data=data, detector=args.detector))
        check = subprocess.run([args.tocsin, "check-config", cfg], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"tocsin check-config rejected detector {args.detector}: {check.stdout}{check.stderr}")
        return Server("tocsin", [args.tocsin, "serve", "--config", cfg], port, "/readyz",
                      "tocsin_samples_ingested_total")
    if kind == "prometheus":
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(PROMETHEUS_CONFIG)
        return Server("prometheus", [args.prometheus, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                     f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
                                     "--log.level=warn"], port, "/-/ready",
                      "prometheus_tsdb_head_samples_appended_total")
    if kind == "victoriametrics":
        return Server("victoriametrics", [args.victoriametrics, f"-storageDataPath={data}",
                                          f"-httpListenAddr=127.0.0.1:{port}", "-retentionPeriod=100y",
                                          "-loggerLevel=WARN"], port, "/health",
                      "vm_rows_inserted_total", 'type="promremotewrite"')
    raise ValueError(kind)


def build_bodies(args, tmp):
    """Builds the workload once (the generator writes its cache and exits: port 9 has no server)."""
    subprocess.run([args.generator, "--url", "http://127.0.0.1:9/", "--series", str(args.series),
                    "--series-per-request", str(args.series_per_request), "--samples-per-series",
                    str(args.samples_per_series), "--rounds", str(args.rounds), "--duration", "0", "--settle", "0",
                    "--cache", os.path.join(tmp, "bodies.bin")], capture_output=True, text=True)


def run_one(kind, args, tmp):
    srv = make_server(kind, args, tmp)
    log = open(os.path.join(tmp, f"{kind}.log"), "w")
    proc = subprocess.Popen(srv.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(srv.ready, proc)
        time.sleep(args.idle)  # let start-up work finish before the idle RSS is read
        cmd = [args.generator, "--url", srv.write, "--pid", str(proc.pid), "--series", str(args.series),
               "--series-per-request", str(args.series_per_request), "--samples-per-series",
               str(args.samples_per_series), "--connections", str(args.connections), "--duration",
               str(args.duration), "--rounds", str(args.rounds), "--settle", str(args.settle),
               "--cache", os.path.join(tmp, "bodies.bin")]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0 and not out.stdout.strip():
            raise RuntimeError(f"generator failed against {kind}: {out.stderr}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["server"] = kind
        try:
            text = http_get(srv.metrics, timeout=10)[1]
            result["server_counted_samples"] = metric_sum(text, srv.counter, srv.counter_filter)
            if kind == "tocsin":
                result["alerts_fired"] = metric_sum(text, "tocsin_alerts_fired_total")
                result["out_of_order"] = metric_sum(text, "tocsin_samples_out_of_order_total")
                result["sample_log_bytes"] = metric_sum(text, "tocsin_sample_log_bytes_written_total")
        except Exception as e:  # the numbers above stand without it
            result["server_counted_samples"] = None
            result["metrics_error"] = str(e)
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited during the run (log: {log.name})")
        return result
    finally:
        stop(proc)
        log.close()
        for data in glob.glob(os.path.join(tmp, f"{kind}-*")):  # the data dir, before the next round
            shutil.rmtree(data, ignore_errors=True)


def fmt_int(x):
    return "-" if x is None else f"{x:,.0f}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", os.path.join(root, "build")))
    p.add_argument("--tocsin")
    p.add_argument("--generator")
    p.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    p.add_argument("--victoriametrics", default=shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics")
    p.add_argument("--servers", default="tocsin,victoriametrics,prometheus")
    p.add_argument("--detector", default="auto",
                   help="tocsin detector on every series: a kind, or a kind with parameters as in a YAML flow map "
                        "(\x27threshold, above: 1e9\x27); default auto")
    p.add_argument("--series", type=int, default=10000)
    p.add_argument("--series-per-request", type=int, default=500)
    p.add_argument("--samples-per-series", type=int, default=10)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--rounds", type=int, default=600, help="rounds precomputed (each: every series once)")
    p.add_argument("--settle", type=float, default=2, help="seconds after the load whose CPU still counts")
    p.add_argument("--idle", type=float, default=2, help="seconds to wait after readiness before the load")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of the whole comparison, the servers in turn within each; with more than one, "
                        "also the medians of each server's samples per CPU-second and of tocsin's ratios "
                        "within a round (this machine's speed drifts between runs minutes apart)")
    p.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    args = p.parse_args()
    args.tocsin = args.tocsin or os.path.join(args.build_dir, "src/cli/tocsin")
    args.generator = args.generator or os.path.join(args.build_dir, "bench/tocsin_rw_load")
    for path in (args.tocsin, args.generator):
        if not os.access(path, os.X_OK):
            sys.exit(f"run.py: {path} not found; build it (ninja -C BUILD_DIR tocsin tocsin_rw_load)")

    rounds = []
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-ingest-") as tmp:
        print(f"# building {args.rounds * args.series // args.series_per_request} request bodies", file=sys.stderr)
        build_bodies(args, tmp)
        for rep in range(args.repeat):
            results = []
            for kind in args.servers.split(","):
                print(f"# {kind}: {args.duration:g}s, {args.series} series, {args.series_per_request} series x "
                      f"{args.samples_per_series} samples per request, {args.connections} connections"
                      + (f" (round {rep + 1} of {args.repeat})" if args.repeat > 1 else ""), file=sys.stderr)
                results.append(run_one(kind, args, tmp))
            if args.repeat > 1:
                print(f"\n## round {rep + 1} of {args.repeat}")
            report(results, args)
            rounds.append(results)
    if args.repeat > 1:
        summarize(rounds)
    if args.json:
        print(json.dumps(rounds if args.repeat > 1 else rounds[0], indent=1))


def summarize(rounds):
    """Medians over the rounds: each server's samples per CPU-second, and tocsin's ratio to each
    peer taken within a round (the servers of one round ran minutes apart, not hours)."""
    print(f"\n## {len(rounds)} rounds, the servers in turn within each: medians (min-max)")
    servers = [r["server"] for r in rounds[0]]
    per = {s: [next(r for r in rs if r["server"] == s)["samples_per_cpu_s"] for rs in rounds] for s in servers}
    for s in servers:
        v = per[s]
        print(f"{s}: {fmt_int(statistics.median(v))} samples per CPU-second ({fmt_int(min(v))}-{fmt_int(max(v))})")
    if "tocsin" in per:
        for other in servers:
            if other == "tocsin" or min(per[other]) <= 0:
                continue
            ratios = [t / o for t, o in zip(per["tocsin"], per[other])]
            print(f"tocsin/{other}: {statistics.median(ratios):.2f}x samples per CPU-second "
                  f"({min(ratios):.2f}x-{max(ratios):.2f}x; rounds: {', '.join(f'{x:.2f}' for x in ratios)})")


def report(results, args):
    print(f"\nremote_write ingest, {args.series} series, {args.series_per_request}x{args.samples_per_series} "
          f"samples/request, {args.connections} connections, {args.duration:g}s each "
          f"(tocsin detector: {args.detector}); CPU = server utime+stime over the load + {args.settle:g}s\n")
    hdr = ["server", "samples/s", "server CPU s", "samples/CPU-s", "req p50 ms", "req p99 ms",
           "RSS idle MiB", "RSS after MiB", "B/series", "B/sample", "failed req", "server-counted"]
    rows = []
    for r in results:
        grow = r["rss_settled"] - r["rss_idle"]
        rows.append([r["server"], fmt_int(r["samples_per_s"]), f'{r["server_cpu_s_with_settle"]:.2f}',
                     fmt_int(r["samples_per_cpu_s"]), f'{r["request_p50_ms"]:.2f}', f'{r["request_p99_ms"]:.2f}',
                     f'{r["rss_idle"] / 2**20:.1f}', f'{r["rss_settled"] / 2**20:.1f}',
                     fmt_int(grow / r["series"]), f'{grow / max(1, r["samples_accepted"]):.2f}',
                     str(r["requests_failed"] + r["connection_errors"]), fmt_int(r.get("server_counted_samples"))])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(hdr)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(hdr, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    by = {r["server"]: r for r in results}
    if "tocsin" in by:
        t = by["tocsin"]
        for other in ("victoriametrics", "prometheus"):
            if other in by and by[other]["samples_per_cpu_s"] > 0:
                print(f"\ntocsin/{other}: {t['samples_per_cpu_s'] / by[other]['samples_per_cpu_s']:.2f}x samples per "
                      f"CPU-second, {t['samples_per_s'] / by[other]['samples_per_s']:.2f}x samples/s", end="")
        print(f"\ntocsin alerts fired: {fmt_int(t.get('alerts_fired'))}, out-of-order dropped: "
              f"{fmt_int(t.get('out_of_order'))}")
    for r in results:
        if r["requests_ok"] + r["requests_failed"] + r["connection_errors"] >= r["rounds_available"] * r["series"] // r["series_per_request"]:
            print(f"{r['server']}: sent the whole workload ({r['rounds_available']} rounds) before --duration ended "
                  f"(a fixed-size run; for a timed one raise --rounds)")
        if r.get("first_error"):
            print(f"{r['server']}: first error: {r['first_error']}")
    print(f"load generator CPU: " + ", ".join(f"{r['server']} {r['generator_cpu_s']:.2f}s" for r in results))


if __name__ == "__main__":
    main()
