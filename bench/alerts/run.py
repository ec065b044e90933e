#!/usr/bin/env python3
"""Alert benchmark driver (bench/alerts): Alertmanager API v2 intake throughput per CPU-second and
new-alert → webhook latency, tocsin against Alertmanager 0.25, in one run. Every measurement
starts its server on a fresh temporary data dir and free loopback ports and stops it after; the
servers alternate (tocsin, alertmanager, tocsin, …) for --repeat rounds, and the tables give the
median and the spread (min–max) over the rounds. Standard library only. See docs/benchmarks.md
and alerts_bench.cc for exactly what is sent and timed.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from servers import free_port, http_get, wait_ready, stop  # noqa: E402  (bench/servers.py)

# The same route and receiver for both servers (tests/e2e/alertmanager_diff.py writes its
# scenarios' configs the same way).
TOCSIN_CONFIG = """\
server:
  listen: 127.0.0.1:{port}
  data_dir: {data}
  log_level: warn
channels:
  - {{name: hook, type: webhook, url: "http://127.0.0.1:{receiver}/hook", format: alertmanager, send_resolved: true}}
routes:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
"""

ALERTMANAGER_CONFIG = """\
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{receiver}/hook
        send_resolved: true
"""

COUNTERS = {"tocsin": "tocsin_alerts_received_total", "alertmanager": "alertmanager_alerts_received_total"}


def metric_sum(text, name):
    total, seen = 0.0, False
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name:
            total += float(m.group(3))
            seen = True
    return total if seen else None


def machine_state():
    """The shared machine's load: 1-minute load average and, where the kernel has them, the
    10-second CPU and I/O pressure (% of time some task waited)."""
    out = {"load1": os.getloadavg()[0]}
    for res in ("cpu", "io"):
        try:
            with open(f"/proc/pressure/{res}") as f:
                out[f"{res}_psi10"] = float(re.search(r"some avg10=([0-9.]+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return out


def fsync_probe(directory, n=50):
    """p50 and p99 ms of n × (write 4 KiB at the end of a file + fdatasync) in `directory`: what one
    durable commit's flush costs on this disk right now (tocsin's SQLite commit does one per POST)."""
    path = os.path.join(directory, "fsync-probe")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = b"x" * 4096
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            times.append((time.perf_counter() - t) * 1e3)
    finally:
        os.close(fd)
        os.remove(path)
    times.sort()
    return {"p50_ms": times[len(times) // 2], "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))]}


def fmt_machine(m):
    text = f'{m["load1"]:.1f}'
    if "cpu_psi10" in m:
        text += f' / {m["cpu_psi10"]:.0f}% / {m.get("io_psi10", 0):.0f}%'
    return text


def start_server(kind, args, tmp, tag, receiver):
    """Starts `kind` on a fresh data dir; returns (proc, base url, log path)."""
    port = free_port()
    root = os.path.join(tmp, f"{kind}-{tag}")
    os.makedirs(os.path.join(root, "data"))
    log_path = os.path.join(root, "server.log")
    if kind == "tocsin":
        cfg = os.path.join(root, "tocsin.yaml")
        with open(cfg, "w") as f:
            f.write(TOCSIN_CONFIG.format(port=port, data=os.path.join(root, "data"), receiver=receiver))
        argv, ready = [args.tocsin, "serve", "--config", cfg], "/readyz"
    else:
        cfg = os.path.join(root, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write(ALERTMANAGER_CONFIG.format(receiver=receiver))
        argv = [args.alertmanager, f"--config.file={cfg}", f"--storage.path={os.path.join(root, 'data')}",
                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]
        ready = "/-/ready"
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + ready, proc)
    except Exception:
        stop(proc)
        raise
    return proc, base, log_path


def run_tool(argv):
    out = subprocess.run(argv, capture_output=True, text=True)
    if not out.stdout.strip():
        raise RuntimeError(f"alerts bench tool failed ({' '.join(argv[:2])}): {out.stderr}")
    if out.stderr.strip():
        print(out.stderr.strip()[-2000:], file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_intake(kind, args, tmp, tag):
    receiver = free_port()
    proc, base, log_path = start_server(kind, args, tmp, f"intake{tag}", receiver)
    try:
        time.sleep(args.idle)  # start-up work out of the way
        machine = machine_state()
        r = run_tool([args.tool, "intake", "--url", base, "--pid", str(proc.pid), "--receiver-port", str(receiver),
                      "--alerts", str(args.alerts), "--batch", str(args.batch), "--connections",
                      str(args.connections), "--duration", str(args.duration), "--settle", str(args.settle),
                      "--resend-interval", str(args.resend_interval), "--pause", str(args.pause)])
        try:
            r["server_counted"] = metric_sum(http_get(base + "/metrics", timeout=10)[1], COUNTERS[kind])
        except Exception as e:  # the numbers above stand without it
            r["server_counted"], r["metrics_error"] = None, str(e)
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited during the run (log: {log_path})")
        r["server"], r["machine"] = kind, machine
        return r
    finally:
        stop(proc)


def run_latency(kind, args, tmp, tag):
    receiver = free_port()
    proc, base, log_path = start_server(kind, args, tmp, f"latency{tag}", receiver)
    try:
        time.sleep(args.idle)
        machine = machine_state()
        probe = fsync_probe(tmp)
        r = run_tool([args.tool, "latency", "--url", base, "--receiver-port", str(receiver), "--n", str(args.n),
                      "--warmup", str(args.warmup), "--gap-ms", str(args.gap_ms), "--gap-jitter-ms",
                      str(args.gap_jitter_ms), "--timeout", "10"])
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited during the run (log: {log_path})")
        r["server"], r["machine"], r["fsync_probe"] = kind, machine, probe
        return r
    finally:
        stop(proc)


def spread(values, fmt):
    """'median (min–max)' of a list of numbers."""
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def table(hdr, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(hdr, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")


def n0(x):
    return f"{x:,.0f}"


def report_intake(runs, servers, args):
    print(f"\nAlertmanager API v2 intake: {args.alerts} distinct alerts re-sent Prometheus-style (same labels and "
          f"startsAt, endsAt = now + {4 * args.resend_interval:g}s) in batches of {args.batch}, {args.connections} "
          f"connections, {args.duration:g}s per run after one untimed first round; CPU = server utime+stime over the "
          f"run + {args.settle:g}s. Per run:\n")
    hdr = ["run", "server", "alerts/s", "server CPU s", "alerts/CPU-s", "req p50 ms", "req p99 ms", "failed req",
           "server-counted", "written B/alert", "generator CPU s", "first round alerts/CPU-s",
           "load / CPU psi / IO psi"]
    rows = []
    for i, rnd in enumerate(runs):
        for kind in servers:
            r = rnd[kind]
            first = r["first_round_alerts"] / r["first_round_cpu_s_with_pause"] if r["first_round_cpu_s_with_pause"] > 0 else 0
            rows.append([str(i + 1), kind, n0(r["alerts_per_s"]), f'{r["server_cpu_s_with_settle"]:.2f}',
                         n0(r["alerts_per_cpu_s"]), f'{r["request_p50_ms"]:.2f}', f'{r["request_p99_ms"]:.2f}',
                         str(r["requests_failed"] + r["connection_errors"]),
                         "-" if r.get("server_counted") is None else n0(r["server_counted"]),
                         "-" if r["server_written_bytes"] < 0 else n0(r["server_written_bytes"] / max(1, r["alerts_accepted"])),
                         f'{r["generator_cpu_s"]:.2f}', n0(first), fmt_machine(r["machine"])])
    table(hdr, rows)
    print(f"\nMedian (min–max) over {len(runs)} runs:\n")
    rows = []
    for kind in servers:
        rs = [rnd[kind] for rnd in runs]
        rows.append([kind, spread([r["alerts_per_s"] for r in rs], n0),
                     spread([r["server_cpu_s_with_settle"] for r in rs], lambda x: f"{x:.2f}"),
                     spread([r["alerts_per_cpu_s"] for r in rs], n0),
                     spread([r["request_p99_ms"] for r in rs], lambda x: f"{x:.1f}")])
    table(["server", "alerts/s", "server CPU s", "alerts per CPU-s", "req p99 ms"], rows)
    if "tocsin" in servers and "alertmanager" in servers:
        per_cpu = [rnd["tocsin"]["alerts_per_cpu_s"] / rnd["alertmanager"]["alerts_per_cpu_s"]
                   for rnd in runs if rnd["alertmanager"]["alerts_per_cpu_s"] > 0]
        per_s = [rnd["tocsin"]["alerts_per_s"] / rnd["alertmanager"]["alerts_per_s"]
                 for rnd in runs if rnd["alertmanager"]["alerts_per_s"] > 0]
        print(f"\ntocsin / alertmanager, per run pair: {spread(per_cpu, lambda x: f'{x:.2f}x')} alerts per CPU-second "
              f"(target >= 10x), {spread(per_s, lambda x: f'{x:.2f}x')} alerts/s")
    for rnd in runs:
        for kind in servers:
            if rnd[kind].get("first_error"):
                print(f"{kind}: first error: {rnd[kind]['first_error']}")


def report_latency(runs, servers, args):
    print(f"\nNew alert POSTed -> its webhook notification received (ms); group_by [alertname], group_wait 0s, "
          f"one alert at a time, {args.gap_ms}-{args.gap_ms + args.gap_jitter_ms} ms apart; 2xx = the POST's answer; fsync "
          f"probe = 4 KiB append + fdatasync in the data dirs' parent just before the run. Per run:\n")
    hdr = ["run", "server", "n", "timeouts", "p50", "p90", "p99", "max", "2xx p50", "2xx p99",
           "fsync probe p50 / p99", "load / CPU psi / IO psi"]
    rows = []
    for i, rnd in enumerate(runs):
        for kind in servers:
            r = rnd[kind]
            rows.append([str(i + 1), kind, str(r["n"]), str(r["timeouts"]), f'{r["p50_ms"]:.2f}', f'{r["p90_ms"]:.2f}',
                         f'{r["p99_ms"]:.2f}', f'{r["max_ms"]:.2f}', f'{r["ack_p50_ms"]:.2f}', f'{r["ack_p99_ms"]:.2f}',
                         f'{r["fsync_probe"]["p50_ms"]:.2f} / {r["fsync_probe"]["p99_ms"]:.2f}', fmt_machine(r["machine"])])
    table(hdr, rows)
    print(f"\nMedian (min–max) over {len(runs)} runs:\n")
    f2 = lambda x: f"{x:.2f}"  # noqa: E731
    rows = []
    for kind in servers:
        rs = [rnd[kind] for rnd in runs]
        rows.append([kind, spread([r["p50_ms"] for r in rs], f2), spread([r["p99_ms"] for r in rs], f2),
                     spread([r["max_ms"] for r in rs], f2), spread([r["ack_p50_ms"] for r in rs], f2),
                     spread([r["ack_p99_ms"] for r in rs], f2)])
    table(["server", "p50 ms", "p99 ms", "max ms", "2xx p50 ms", "2xx p99 ms"], rows)
    if "tocsin" in servers and "alertmanager" in servers:
        r50 = [rnd["alertmanager"]["p50_ms"] / rnd["tocsin"]["p50_ms"] for rnd in runs if rnd["tocsin"]["p50_ms"] > 0]
        r99 = [rnd["alertmanager"]["p99_ms"] / rnd["tocsin"]["p99_ms"] for rnd in runs if rnd["tocsin"]["p99_ms"] > 0]
        print(f"\nalertmanager / tocsin, per run pair: {spread(r50, lambda x: f'{x:.2f}x')} at p50, "
              f"{spread(r99, lambda x: f'{x:.2f}x')} at p99 (target: tocsin's p99 lower, i.e. > 1x)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", os.path.join(root, "build")))
    p.add_argument("--tocsin")
    p.add_argument("--tool")
    p.add_argument("--alertmanager",
                   default=shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager")
    p.add_argument("--servers", default="tocsin,alertmanager")
    p.add_argument("--only", choices=["intake", "latency"])
    p.add_argument("--repeat", type=int, default=3, help="rounds; each runs every server once per benchmark")
    p.add_argument("--idle", type=float, default=1, help="seconds after readiness before a measurement")
    g = p.add_argument_group("intake")
    g.add_argument("--alerts", type=int, default=10000)
    g.add_argument("--batch", type=int, default=100)
    g.add_argument("--connections", type=int, default=4)
    g.add_argument("--duration", type=float, default=15)
    g.add_argument("--settle", type=float, default=2, help="seconds after the load whose CPU still counts")
    g.add_argument("--resend-interval", type=float, default=60, help="Prometheus' resend delay (endsAt = now + 4x)")
    g.add_argument("--pause", type=float, default=2, help="seconds after the untimed first round")
    g = p.add_argument_group("latency")
    g.add_argument("--n", type=int, default=500)
    g.add_argument("--warmup", type=int, default=5)
    g.add_argument("--gap-ms", type=int, default=20)
    g.add_argument("--gap-jitter-ms", type=int, default=30)
    p.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    args = p.parse_args()
    args.tocsin = args.tocsin or os.path.join(args.build_dir, "src/cli/tocsin")
    args.tool = args.tool or os.path.join(args.build_dir, "bench/tocsin_alerts_bench")
    for path in (args.tocsin, args.tool):
        if not os.access(path, os.X_OK):
            sys.exit(f"run.py: {path} not found; build it (ninja -C BUILD_DIR tocsin tocsin_alerts_bench)")
    servers = args.servers.split(",")
    for s in servers:
        if s not in COUNTERS:
            sys.exit(f"run.py: unknown server {s!r} (tocsin, alertmanager)")

    intake, latency = [], []
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-alerts-") as tmp:
        print(f"# machine at start (load1, CPU/IO pressure): {machine_state()}", file=sys.stderr)
        for i in range(args.repeat):
            if args.only in (None, "intake"):
                rnd = {}
                for kind in servers:
                    print(f"# round {i + 1}/{args.repeat} intake: {kind}", file=sys.stderr)
                    rnd[kind] = run_intake(kind, args, tmp, i)
                intake.append(rnd)
            if args.only in (None, "latency"):
                rnd = {}
                for kind in servers:
                    print(f"# round {i + 1}/{args.repeat} latency: {kind}", file=sys.stderr)
                    rnd[kind] = run_latency(kind, args, tmp, i)
                latency.append(rnd)
        print(f"# machine at end: {machine_state()}", file=sys.stderr)
    if intake:
        report_intake(intake, servers, args)
    if latency:
        report_latency(latency, servers, args)
    if args.json:
        print(json.dumps({"intake": intake, "latency": latency}, indent=1))


if __name__ == "__main__":
    main()
