#!/usr/bin/env python3
"""Takeover time of the engine lease (docs/high-availability.md#measured): 2 and 3 `tocsin serve`
replicas on one throwaway PostgreSQL (fsync on) with a short lease (ttl 2 s, renewed every 0.5 s
by default); the lease holder is SIGKILLed N times (restarted, same replica_id, after each
measurement), and from each SIGKILL this measures

  lease  until a survivor holds the engine lease, polling GET /api/v1/cluster on the survivors
         every --poll seconds (default 25 ms);
  page   until an alert posted to a survivor right after the kill (it opens an incident whose
         ladder pages at once) is delivered to the webhook receiver (its arrival time).

and prints p50 and max of each, and their ratio to the configured ttl. Before each kill it waits
until every replica is live in GET /api/v1/cluster (the killed one restarted, as a standby) and
one holds the lease, then a random 0 to renew_every more, so the kill lands anywhere in the
holder's renewal cycle.

  bench/ha/takeover.py                         2 and 3 replicas, 10 kills each
  bench/ha/takeover.py --replicas 3 --kills 5 --ttl 5 --renew-every 1

bench/ha/run runs it after its throughput tables (--only takeover: this alone). Standard library
only; PostgreSQL from tests/e2e/pg_server.py, the server and receiver from tests/e2e/harness.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.dont_write_bytecode = True
import harness  # noqa: E402
from pg_server import PostgresServer  # noqa: E402


def config_text(root: str, name: str, port: int, uri: str, receiver_url: str, ttl: float, renew: float) -> str:
    return f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {root}/data-{name}
  external_url: http://127.0.0.1:{port}
  store: {uri}
  replica_id: {name}
  lease: {{ttl: {int(ttl * 1000)}ms, renew_every: {int(renew * 1000)}ms}}
people:
  - {{id: alice, contact: {{webhook: "{receiver_url.rstrip('/')}/alice"}}}}
escalation_policies:
  - id: ops
    levels:
      - {{after: 0s, notify: ["person:alice"]}}
plans:
  - id: takeover
    match: ['incident_type="takeover"']
    escalation: ops
    roles: {{commander: "person:alice"}}
    steps: [{{id: triage, title: Triage, owner: commander, due: 5h}}]
"""


def cluster_view(server: harness.Tocsin, timeout: float = 2.0) -> dict | None:
    try:
        r = harness.http_json("GET", server.url("/api/v1/cluster"), timeout=timeout)
    except (OSError, ValueError):
        return None
    return r.json if r.status == 200 else None


def engine_lease(view: dict | None) -> dict | None:
    for lease in (view or {}).get("leases", []):
        if lease["name"] == "engine":
            return lease
    return None


def wait(pred, timeout: float, interval: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def measure(args, pg: PostgresServer, tmp: str, n: int, log) -> list[dict]:
    uri = pg.create_database(f"takeover{n}")
    receiver = harness.WebhookReceiver()
    replicas: dict[str, harness.Tocsin] = {}
    rng = random.Random(n)
    settle = 4 * (args.ttl + args.renew_every) + 10  # deadline of every wait below
    try:
        for i in range(1, n + 1):
            name = f"r{i}"
            path = os.path.join(tmp, f"n{n}", name, "tocsin.yaml")
            os.makedirs(os.path.dirname(path))
            port = harness.free_port()
            with open(path, "w") as f:
                f.write(config_text(os.path.dirname(path), name, port, uri, receiver.url, args.ttl, args.renew_every))
            replicas[name] = harness.Tocsin(path, port, binary=args.binary)
        replicas["r1"].start(timeout=60)
        wait(lambda: (engine_lease(cluster_view(replicas["r1"])) or {}).get("holder") == "r1", settle, 0.05,
             "r1 to take the lease")
        for name in list(replicas)[1:]:
            replicas[name].start(timeout=60)
        rows = []
        for k in range(args.kills):
            # Settled: every replica live, the holder renewed since the last restart.
            def settled():
                view = cluster_view(next(s for s in replicas.values() if s.alive()))
                lease = engine_lease(view)
                if not view or not lease or not lease["held"]:
                    return None
                if sum(1 for r in view["replicas"] if r["live"]) != n:
                    return None
                return lease
            lease = wait(settled, settle, 0.05, f"{n} live replicas and a holder")
            time.sleep(rng.uniform(0, args.renew_every))  # a kill at a random point of the renewal cycle
            holder = lease["holder"]
            survivors = [s for name, s in replicas.items() if name != holder]
            alertname = f"Takeover{n}x{k}"
            killed_wall, killed = time.time(), time.monotonic()
            replicas[holder].kill()
            to = rng.choice(survivors)
            body = [{"labels": {"alertname": alertname, "incident_type": "takeover"},
                     "annotations": {"summary": alertname}}]
            posted = wait(lambda: harness.http_json("POST", to.url("/api/v2/alerts"), payload=body,
                                                    timeout=5).status == 200, settle, 0.05, "the alert post")
            assert posted
            posted_s = time.monotonic() - killed

            def new_holder():
                for s in survivors:
                    lease = engine_lease(cluster_view(s, timeout=1.0))
                    if lease and lease["held"] and lease["holder"] != holder:
                        return lease
                return None
            got = wait(new_holder, settle, args.poll, "a survivor to hold the lease")
            lease_s = time.monotonic() - killed

            def paged():
                for r in receiver.snapshot("/alice"):
                    alerts = (r.json or {}).get("alerts") or []
                    if any((a.get("labels") or {}).get("alertname") == alertname for a in alerts):
                        return r
                return None
            page = wait(paged, settle, 0.01, f"the page of {alertname}")
            page_s = page.at - killed_wall
            rows.append({"replicas": n, "kill": k + 1, "killed": holder, "new_holder": got["holder"],
                         "epoch": got["epoch"], "lease_s": round(lease_s, 3), "page_s": round(page_s, 3),
                         "alert_posted_s": round(posted_s, 3)})
            log(f"{n} replicas, kill {k + 1}/{args.kills}: {holder} -> {got['holder']}: lease {lease_s:.2f} s, "
                f"page {page_s:.2f} s")
            replicas[holder].start(timeout=60)
        return rows
    finally:
        for s in replicas.values():
            if s.alive():
                s.stop(timeout=30)
        receiver.close()


def summarize(rows: list[dict], ttl: float) -> dict:
    out = {}
    for key in ("lease_s", "page_s"):
        values = [r[key] for r in rows]
        p50, mx = statistics.median(values), max(values)
        out[key] = {"p50": round(p50, 3), "max": round(mx, 3), "min": round(min(values), 3),
                    "p50_ttl": round(p50 / ttl, 2), "max_ttl": round(mx / ttl, 2), "n": len(values)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", default="2,3", help="replica counts, e.g. 2,3 (each 2 or more)")
    p.add_argument("--kills", type=int, default=10, help="SIGKILLs of the lease holder per replica count")
    p.add_argument("--ttl", type=float, default=2.0, help="server.lease.ttl, s")
    p.add_argument("--renew-every", type=float, default=0.5, help="server.lease.renew_every, s")
    p.add_argument("--poll", type=float, default=0.025, help="seconds between two GET /api/v1/cluster")
    p.add_argument("--binary", default=os.environ.get("TOCSIN_BIN", os.path.join(ROOT, "build", "src", "cli", "tocsin")))
    p.add_argument("--json", action="store_true", help="also print every measurement as JSON")
    args = p.parse_args(argv)
    counts = [int(x) for x in args.replicas.split(",")]
    if min(counts) < 2 or args.kills < 1 or not 0 < args.renew_every < args.ttl:
        p.error("--replicas counts of 2 or more, --kills >= 1, 0 < --renew-every < --ttl")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    pg = PostgresServer(fsync=True)
    tmp = tempfile.mkdtemp(prefix="tocsin-bench-takeover-")
    results = {}
    try:
        pg.start()
        for n in counts:
            results[n] = measure(args, pg, tmp, n, log)
    finally:
        pg.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nengine lease takeover: SIGKILL of the holder, lease ttl {args.ttl:g} s, renew every "
          f"{args.renew_every:g} s, GET /api/v1/cluster polled every {args.poll * 1000:g} ms\n")
    print("| replicas | kills | survivor holds the lease: p50 / max | × ttl | alert posted after the kill paged: "
          "p50 / max | × ttl |")
    print("|---|---|---|---|---|---|")
    for n, rows in results.items():
        s = summarize(rows, args.ttl)
        print(f"| {n} | {len(rows)} | {s['lease_s']['p50']:.2f} s / {s['lease_s']['max']:.2f} s | "
              f"{s['lease_s']['p50_ttl']:.2f} / {s['lease_s']['max_ttl']:.2f} | "
              f"{s['page_s']['p50']:.2f} s / {s['page_s']['max']:.2f} s | "
              f"{s['page_s']['p50_ttl']:.2f} / {s['page_s']['max_ttl']:.2f} |")
    if args.json:
        print(json.dumps({str(n): {"summary": summarize(rows, args.ttl), "kills": rows} for n, rows in results.items()},
                         indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
