#!/usr/bin/env python3
"""How fast `tocsin migrate --from-sqlite` moves a store (docs/benchmarks.md#moving-a-store-to-postgresql-benchmigrate):
builds a SQLite store — `tocsin serve` creates the schema, then Python's sqlite3 adds --incidents
incidents with --timeline timeline events and --audit audit entries between them — and moves it
into a fresh database of a throwaway PostgreSQL (tests/e2e/pg_server.py: initdb on a temporary
directory, fsync off), --repeat times. Prints what tocsin printed and, per round, the wall time of
the command, the CPU time of the tocsin process (the rest is PostgreSQL's) and rows per second. Standard library only.

  bench/migrate/run.py --build-dir build                      # 100,000 timeline rows, 3 rounds
  bench/migrate/run.py --build-dir build --timeline 1000000 --repeat 1
"""
import argparse
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "tests", "e2e"))
from servers import free_port, wait_ready, stop  # noqa: E402  (bench/servers.py)
from pg_server import PostgresServer  # noqa: E402

CONFIG = """\
server:
  listen: 127.0.0.1:{port}
  data_dir: {data}
  log_level: warn
"""

T0 = 1767571200000  # 2026-01-05T00:00:00Z, in ms


def make_store(tocsin: str, tmp: str, incidents: int, timeline: int, audit: int) -> str:
    config = os.path.join(tmp, "tocsin.yaml")
    port = free_port()
    with open(config, "w") as f:
        f.write(CONFIG.format(port=port, data=os.path.join(tmp, "data")))
    proc = subprocess.Popen([tocsin, "serve", "--config", config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    finally:
        stop(proc)
    db = os.path.join(tmp, "data", "tocsin.db")
    con = sqlite3.connect(db)
    with con:
        con.executemany(
            "INSERT INTO incidents (id, title, plan, severity, status, group_key, opened_at, escalation_policy, "
            "escalation_pass, escalation_next_level) VALUES (?, ?, 'crash', 'critical', 'resolved', ?, ?, 'ops', 0, 0)",
            ((i, f"Incident {i}: load on host-{i % 97}", f"{{}}:{{alertname=\"HighLoad\",n=\"{i}\"}}", T0 + i * 60_000)
             for i in range(1, incidents + 1)))
        con.executemany(
            "INSERT INTO timeline (incident_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
            ((1 + n % incidents, T0 + n * 1000, ("opened", "notified", "acknowledged", "note")[n % 4],
              ("tocsin", "alice", "bob")[n % 3], f"event {n}: paged person:alice by webhook\tattempt 1")
             for n in range(timeline)))
        con.executemany(
            "INSERT INTO audit_log (at, actor, action, object, detail, source) VALUES (?, 'alice', "
            "'incident.acknowledge', ?, '', '127.0.0.1:5555')",
            ((T0 + n * 1000, f"incident/{1 + n % incidents}") for n in range(audit)))
    con.close()
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.path.join(root, "build"))
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--timeline", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tocsin = os.path.join(args.build_dir, "src", "cli", "tocsin")

    tmp = tempfile.mkdtemp(prefix="tocsin-bench-migrate-")
    pg = PostgresServer()
    try:
        pg.start()
        config = make_store(tocsin, tmp, args.incidents, args.timeline, args.audit)
        db = os.path.join(tmp, "data", "tocsin.db")
        print(f"SQLite store: {os.path.getsize(db) / 1e6:.1f} MB, {args.incidents} incidents, "
              f"{args.timeline} timeline events, {args.audit} audit entries")
        with open(config) as f:
            base = f.read()
        walls, rates = [], []
        for round_ in range(1, args.repeat + 1):
            uri = pg.create_database(f"bench{round_}")
            with open(config, "w") as f:
                f.write(base + f"  store: {uri}\n")
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            cp = subprocess.run([tocsin, "migrate", "--config", config, "--from-sqlite", db],
                                capture_output=True, text=True)
            wall = time.monotonic() - started
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
            if cp.returncode != 0:
                print(cp.stdout, cp.stderr, file=sys.stderr)
                return 1
            if round_ == 1:
                print(cp.stdout)
            m = re.search(r"(\d+) rows in ([\d.]+) s \((\d+) rows/s\)", cp.stdout)
            rows = int(m.group(1))
            walls.append(wall)
            rates.append(int(m.group(3)))
            print(f"round {round_}: {rows} rows, command {wall:.2f} s wall ({cpu:.2f} CPU s in tocsin), "
                  f"copy {m.group(2)} s = {m.group(3)} rows/s")
        print(f"median: command {statistics.median(walls):.2f} s, {statistics.median(rates):.0f} rows/s "
              f"(min {min(rates)}, max {max(rates)})")
    finally:
        pg.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
