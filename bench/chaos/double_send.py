#!/usr/bin/env python3
"""Reproduces a double send found by `bench/chaos/run --replicas 3` (docs/high-availability.md,
"Replicas killed and restarted in a loop", "Found by it"), without replicas and without kills:
one `tocsin serve` (on a throwaway PostgreSQL, or on SQLite with --store sqlite), --alerts alerts
posted at once from as many threads, --rounds times 3 s apart, each opening an incident whose
ladder pages three people at 0 s — a burst of due notifications. Then, once none is pending, it
counts the notifications the store recorded as successfully delivered more than once
(`notification_attempts`, ok) and the deliveries the webhook receiver got, and exits 1 if any
notification was sent twice.

  bench/chaos/double_send.py                        PostgreSQL, 60 alerts x 3 rounds (~30 s)
  bench/chaos/double_send.py --store sqlite --runs 3

The suspected cause (docs/high-availability.md): Deliverer::update reads the due notifications,
then skips those in `claimed_`; an attempt finishing in between (recorded, then unclaimed) is
taken again from the stale read, sent again and recorded again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.dont_write_bytecode = True
import harness  # noqa: E402
from pg_server import PostgresServer  # noqa: E402


def config(tmp: str, port: int, receiver: str, uri: str | None) -> str:
    # The lease as bench/chaos/ha.py sets it: a pass at every renewal (500 ms), besides the wake-ups.
    store = f"  store: {uri}\n  replica_id: r1\n  lease: {{ttl: 2000ms, renew_every: 500ms}}\n" if uri else ""
    return f"""server:
  listen: 127.0.0.1:{port}
  data_dir: {tmp}/data
  external_url: http://127.0.0.1:{port}
{store}people:
  - {{id: alice, contact: {{webhook: "{receiver}/alice"}}}}
  - {{id: bob, contact: {{webhook: "{receiver}/bob"}}}}
  - {{id: carol, contact: {{webhook: "{receiver}/carol"}}}}
escalation_policies:
  - id: ops
    levels:
      - {{after: 0s, notify: ["person:alice", "person:bob", "person:carol"]}}
plans:
  - id: burst
    match: ['incident_type="burst"']
    escalation: ops
    roles: {{commander: "person:alice"}}
    steps: [{{id: look, title: Look, owner: commander, due: 5h}}]
"""


def one_run(args, run: int) -> tuple[int, int, int, list[tuple[int, int]]]:
    tmp = tempfile.mkdtemp(prefix="tocsin-double-send-")
    receiver = harness.WebhookReceiver()
    pg = None
    try:
        uri = None
        if args.store == "postgres":
            pg = PostgresServer()
            pg.start()
            uri = pg.create_database("burst")
        port = harness.free_port()
        path = os.path.join(tmp, "tocsin.yaml")
        with open(path, "w") as f:
            f.write(config(tmp, port, receiver.url, uri))
        server = harness.Tocsin(path, port, binary=args.binary)
        server.start(timeout=60)

        def query(sql: str) -> list[tuple]:
            if pg:
                out = pg.psql("burst", sql).strip()
                return [tuple(int(x) for x in line.split("|")) for line in out.splitlines() if line]
            db = sqlite3.connect(f"file:{tmp}/data/tocsin.db?mode=ro", uri=True, timeout=5)
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()
        try:
            for rnd in range(args.rounds):
                def post(i: int) -> None:
                    body = [{"labels": {"alertname": f"Burst{run}x{rnd}x{i}", "incident_type": "burst"}}]
                    for _ in range(50):  # 503 (a serialization failure) is retried
                        if server.post("/api/v2/alerts", body).status == 200:
                            return
                        time.sleep(0.05)
                threads = [threading.Thread(target=post, args=(i,)) for i in range(args.alerts)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                time.sleep(3)
            harness.wait_until(lambda: query("SELECT count(*) FROM notifications WHERE status = 'pending'")[0][0] == 0,
                               120, interval=0.5)
            time.sleep(1)
            total = query("SELECT count(*) FROM notifications")[0][0]
            twice = query("SELECT notification_id, count(*) FROM notification_attempts WHERE ok = 1 "
                          "GROUP BY notification_id HAVING count(*) > 1 ORDER BY notification_id")
            return total, len(receiver.snapshot()), len(twice), twice
        finally:
            server.stop(timeout=30)
    finally:
        receiver.close()
        if pg:
            pg.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--alerts", type=int, default=60, help="alerts posted at once per round (default 60)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--binary", default=os.environ.get("TOCSIN_BIN", os.path.join(REPO, "build", "src", "cli", "tocsin")))
    args = p.parse_args()
    bad = 0
    for run in range(args.runs):
        total, received, n_twice, twice = one_run(args, run)
        bad += n_twice
        print(f"run {run + 1} ({args.store}): notifications {total}, deliveries received {received}, "
              f"sent twice (two successful attempts recorded): {n_twice} {[nid for nid, _ in twice]}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
