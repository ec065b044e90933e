#!/usr/bin/env python3
"""What HTTPS costs the server (bench/tls): the same requests over plain HTTP and over TLS
against one `tocsin serve` each, alternating, and the server's CPU time per request from
/proc/PID/stat.

  bench/tls/run.py [--tocsin build/src/cli/tocsin] [--duration 5] [--repeat 2]

Three workloads per scheme, each for --duration seconds on one connection driven by Python's
http.client (the client, not the server, limits requests per second here; the server's
CPU-microseconds per request is the figure to read):
  healthz     GET /healthz on one keep-alive connection: transport cost alone
  push        POST /api/v1/push, 100 samples (JSON) per request, keep-alive: intake
  connect     GET /healthz on a new connection per request: adds the TCP (+TLS) handshake

The certificate is a throwaway EC P-256 one made with the `openssl` command; TLS 1.3 is what
Python and tocsin agree on. Prints a table; nothing is written outside a temp dir."""

import argparse
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from servers import free_port, stop  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def make_cert(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", "server.key", "-out", "server.crt", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=d, check=True, capture_output=True)


def start(tocsin, d, tls):
    port = free_port()
    cfg = os.path.join(d, f"{'tls' if tls else 'plain'}.yaml")
    with open(cfg, "w") as f:
        f.write(f"server:\n  listen: 127.0.0.1:{port}\n  data_dir: {d}/data-{'tls' if tls else 'plain'}\n")
        if tls:
            f.write("  tls: {cert_file: server.crt, key_file: server.key}\n")
    log = open(os.path.join(d, "server.log"), "ab")
    proc = subprocess.Popen([tocsin, "serve", "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=os.path.join(d, "server.crt")) if tls else None
    end = time.time() + 30
    while time.time() < end:
        try:
            status, _ = request(connect(port, ctx), "GET", "/readyz")
            if status == 200:
                return proc, port, ctx
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit(f"tocsin exited with {proc.returncode}; see {d}/server.log")
        time.sleep(0.1)
    stop(proc)
    sys.exit("tocsin not ready within 30 s")


def connect(port, ctx):
    if ctx:
        return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def request(conn, method, path, body=None):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = conn.getresponse()
    r.read()
    return r.status, r


def run(workload, proc, port, ctx, duration):
    # Samples with increasing timestamps (one ms apart per request), so none is out of order.
    template = json.dumps([{"name": "bench_tls", "labels": {"instance": f"h{i}"}, "value": i, "ts": 0}
                           for i in range(100)]).replace('"ts": 0', '"ts": TS')
    start_ms = int(time.time() * 1000)
    conn = connect(port, ctx)
    n = 0
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    while time.monotonic() - t0 < duration:
        if workload == "connect":
            conn = connect(port, ctx)
        body = template.replace("TS", str(start_ms + n)) if workload == "push" else None
        status, _ = request(conn, "POST" if body else "GET", "/api/v1/push" if body else "/healthz", body)
        if status // 100 != 2:
            sys.exit(f"{workload}: HTTP {status}")
        if workload == "connect":
            conn.close()
        n += 1
    elapsed, cpu = time.monotonic() - t0, cpu_seconds(proc.pid) - cpu0
    conn.close()
    return {"requests": n, "per_s": n / elapsed, "cpu_us_per_request": cpu / n * 1e6}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tocsin", default=os.path.join(root, "build", "src", "cli", "tocsin"))
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-tls-") as d:
        make_cert(d)
        for _ in range(args.repeat):
            for tls in (False, True):
                proc, port, ctx = start(args.tocsin, d, tls)
                try:
                    for workload in ("healthz", "push", "connect"):
                        r = run(workload, proc, port, ctx, args.duration)
                        results.setdefault((workload, tls), []).append(r)
                finally:
                    stop(proc)
    print(f"{'workload':<10} {'scheme':<6} {'req/s (client-bound)':>22} {'server CPU µs/request':>24}")
    for workload in ("healthz", "push", "connect"):
        for tls in (False, True):
            rs = results[(workload, tls)]
            per_s = " / ".join(f"{r['per_s']:.0f}" for r in rs)
            cpu = " / ".join(f"{r['cpu_us_per_request']:.0f}" for r in rs)
            print(f"{workload:<10} {'https' if tls else 'http':<6} {per_s:>22} {cpu:>24}")


if __name__ == "__main__":
    main()
