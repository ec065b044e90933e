"""Partitioned ingestion end to end (docs/high-availability.md, "Detection across replicas"): two
`tocsin serve` replicas on one throwaway PostgreSQL with a short lease (ttl 2 s, renewed every
0.5 s). Every series is owned by one live replica; samples sent to the other are forwarded to it.

- remote_write batches of 20 series sent alternately to A and B: each series' samples are all on
  one replica (GET /api/v1/series on both), none lost, and every request answered 204;
- a threshold rule on one series whose samples are posted half to A, half to B fires once: one
  notification;
- B killed (SIGKILL): samples sent to A for B's series are ingested by A (the forward fails, A
  falls back to ingesting them itself, then its view drops B), and no request answers non-2xx;
- B stopped (SIGTERM) after its series learned a baseline: A takes B's series over with their
  baselines (B's checkpoint in the store), so a jump is flagged at once on every series.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import unittest
import urllib.parse

from harness import Tocsin, free_port, http_request, remote_write_body, wait_until
from pg_server import ReplicasTest

LEASE_TTL_S = 2.0
SERIES = 20


def config_text(root: str, name: str, port: int, uri: str, receiver_url: str) -> str:
    r = receiver_url.rstrip("/")
    return f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {root}/data-{name}
  external_url: http://127.0.0.1:{port}
  store: {uri}
  replica_id: {name}
  lease: {{ttl: {int(LEASE_TTL_S * 1000)}ms, renew_every: 500ms}}
channels:
  - {{name: hook, type: webhook, url: "{r}/hook", format: alertmanager}}
rules:
  - name: HighLoad
    select: 'system_load{{service="api"}}'
    detector: {{kind: threshold, above: 0.9}}
    for: 0s
    severity: major
  - name: SlowRequests
    select: 'latency_ms'
    detector: {{kind: sigma, n: 3, window: 1h, min_samples: 20}}
    for: 0s
    severity: minor
routes:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1m
  repeat_interval: 4h
"""


def metric(server: Tocsin, line_prefix: str) -> float:
    total = 0.0
    for line in server.get("/metrics").text.splitlines():
        if line.startswith(line_prefix):
            total += float(line.split()[-1])
    return total


class HaPartitionTest(ReplicasTest):
    db_prefix = "part"

    def setUp(self):
        super().setUp()
        for name in ("ra", "rb"):
            port = free_port()
            path = os.path.join(self.tmp, name, "tocsin.yaml")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(config_text(self.tmp, name, port, self.uri, self.receiver.url))
            self.replicas[name] = Tocsin(path, port)
        for s in self.replicas.values():
            s.start()
        # Both see both live, and partition by the same two-member view.
        def joined() -> bool:
            for s in self.replicas.values():
                view = s.get("/api/v1/cluster", timeout=2.0).json
                if sorted(r["id"] for r in view["replicas"] if r["live"]) != ["ra", "rb"]:
                    return False
                if view["ownership"]["members"] != ["ra", "rb"]:
                    return False
            return True
        self.assertTrue(wait_until(joined, 10.0, what="both replicas in both views"), "replicas never joined")

    def write(self, server: Tocsin, series: list[tuple[dict[str, str], list[tuple[float, int]]]]) -> None:
        r = http_request("POST", server.url("/api/v1/write"), remote_write_body(series),
                         {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})
        self.assertEqual(r.status, 204, f"POST /api/v1/write to {server.port}: {r!r}")

    def points(self, server: Tocsin, match: str, start_ms: int, end_ms: int) -> dict[str, list]:
        """instance -> [[ms, value], …] of the series matching `match` that this replica holds."""
        q = urllib.parse.urlencode({"match": match, "start": start_ms, "end": end_ms, "limit": 1000})
        r = server.get(f"/api/v1/series?{q}")
        self.assertEqual(r.status, 200, r)
        return {s["labels"]["instance"]: s["points"] for s in r.json["series"]}

    def test_each_series_lives_on_one_replica_and_a_rule_fires_once(self):
        a, b = self.replicas["ra"], self.replicas["rb"]
        base = int(time.time() * 1000) - 60_000
        batches = 10
        for i in range(batches):
            series = [({"__name__": "requests", "instance": f"h{k}"}, [(float(i), base + i * 1000)])
                      for k in range(SERIES)]
            self.write(a if i % 2 == 0 else b, series)
        on_a = self.points(a, "requests", base - 1000, base + batches * 1000)
        on_b = self.points(b, "requests", base - 1000, base + batches * 1000)
        self.assertEqual(len(on_a) + len(on_b), SERIES, f"on A {sorted(on_a)}, on B {sorted(on_b)}")
        self.assertFalse(set(on_a) & set(on_b), "a series has samples on both replicas")
        self.assertTrue(on_a and on_b, "one replica owns every series")
        for instance, pts in {**on_a, **on_b}.items():
            self.assertEqual([p[0] for p in pts], [base + i * 1000 for i in range(batches)], instance)
        print(f"\nseries owned: ra {len(on_a)}, rb {len(on_b)}", file=sys.stderr)
        forwarded = metric(a, "tocsin_ingest_forwarded_samples_total") + metric(b, "tocsin_ingest_forwarded_samples_total")
        self.assertEqual(forwarded, batches // 2 * len(on_b) + batches // 2 * len(on_a))
        self.assertEqual(metric(a, 'tocsin_ingest_forward_total{result="failed"}'), 0)

        # One rule series, its samples half through A, half through B (push and remote_write): the
        # owner sees them all, so the threshold fires once, on one replica: one notification.
        load = {"__name__": "system_load", "service": "api", "instance": "db1"}
        for i in range(10):
            value = 5.0 if i >= 7 else 0.2
            server = a if i % 2 == 0 else b
            if i % 4 < 2:
                self.write(server, [(load, [(value, base + i * 1000)])])
            else:
                labels = {k: v for k, v in load.items() if k != "__name__"}
                r = server.push([{"name": load["__name__"], "labels": labels, "value": value, "ts": base + i * 1000}])
                self.assertEqual(r.status, 200, r)
        self.receiver.wait_for("/hook", 1, timeout=15.0)
        time.sleep(3.0)
        got = self.receiver.snapshot("/hook")
        self.assertEqual(len(got), 1, self.receiver.describe())
        held = {name: self.points(s, "system_load", base - 1000, base + 10_000) for name, s in self.replicas.items()}
        owners = [name for name, pts in held.items() if pts]
        self.assertEqual(len(owners), 1, held)
        self.assertEqual(len(held[owners[0]]["db1"]), 10, held)

    def test_concurrent_writes_to_both_replicas_do_not_wait_on_each_other(self):
        """Requests to A forward to B while B's forward to A: neither replica's io thread is held
        by a request waiting on the other (ServerOptions::blocking), so no forward times out."""
        a, b = self.replicas["ra"], self.replicas["rb"]
        base = int(time.time() * 1000) - 60_000
        errors: list[str] = []
        slowest = [0.0]

        def sender(t: int) -> None:
            for i in range(10):
                server = a if (t + i) % 2 == 0 else b
                series = [({"__name__": "conc", "instance": f"h{k}-t{t}"}, [(float(i), base + i * 1000)])
                          for k in range(SERIES)]
                started = time.monotonic()
                r = http_request("POST", server.url("/api/v1/write"), remote_write_body(series),
                                 {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})
                slowest[0] = max(slowest[0], time.monotonic() - started)
                if r.status != 204:
                    errors.append(f"{r!r}")

        threads = [threading.Thread(target=sender, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(metric(a, 'tocsin_ingest_forward_total{result="failed"}') +
                         metric(b, 'tocsin_ingest_forward_total{result="failed"}'), 0)
        self.assertLess(slowest[0], 4.0, "a request waited out a forward's timeout")
        on_a = self.points(a, "conc", base - 1000, base + 10_000)
        on_b = self.points(b, "conc", base - 1000, base + 10_000)
        print(f"\nconcurrent: slowest request {slowest[0]:.2f} s", file=sys.stderr)
        self.assertEqual(len(on_a) + len(on_b), 6 * SERIES)
        self.assertFalse(set(on_a) & set(on_b), "a series has samples on both replicas")
        for instance, pts in {**on_a, **on_b}.items():
            self.assertEqual(len(pts), 10, instance)

    def test_the_survivor_ingests_a_dead_owners_series_and_answers_2xx(self):
        a, b = self.replicas["ra"], self.replicas["rb"]
        base = int(time.time() * 1000) - 120_000
        first = [({"__name__": "requests", "instance": f"h{k}"}, [(1.0, base)]) for k in range(SERIES)]
        self.write(a, first)
        on_b = set(self.points(b, "requests", base - 1000, base + 1000))
        self.assertTrue(on_b, "rb owns none of the series")
        b.kill()
        killed_at = time.monotonic()
        sent = 0
        i = 1
        # Through the fallback (the forward to rb fails) and past the view dropping rb.
        view_changed_at = None
        while time.monotonic() - killed_at < LEASE_TTL_S * 2.5:
            self.write(a, [({"__name__": "requests", "instance": f"h{k}"}, [(float(i), base + i * 100)])
                           for k in range(SERIES)])
            sent += 1
            i += 1
            if view_changed_at is None and a.get("/api/v1/cluster").json["ownership"]["members"] == ["ra"]:
                view_changed_at = time.monotonic()
            time.sleep(0.1)
        self.assertIsNotNone(view_changed_at, "ra's view never dropped rb")
        print(f"\nra's ownership view dropped rb {view_changed_at - killed_at:.2f} s after the SIGKILL "
              f"({sent} batches sent meanwhile)", file=sys.stderr)
        self.assertGreaterEqual(metric(a, 'tocsin_ingest_forward_total{result="failed"}'), 1)
        held = self.points(a, "requests", base - 1000, base + i * 100)
        for k in range(SERIES):
            instance = f"h{k}"
            # Every sample sent after the kill is on ra, whoever owned the series before.
            want = [base + j * 100 for j in range(1, i)]
            got = [p[0] for p in held.get(instance, []) if p[0] > base]
            self.assertEqual(got, want, f"{instance} (owned by rb before: {instance in on_b})")


    def test_a_stopped_owner_hands_its_baselines_to_the_survivor(self):
        a, b = self.replicas["ra"], self.replicas["rb"]
        base = int(time.time() * 1000) - 300_000
        instances = [f"h{k}" for k in range(SERIES)]
        # 40 samples around 100 ms per series, all sent to ra: each owner learns its own series.
        for i in range(40):
            self.write(a, [({"__name__": "latency_ms", "instance": inst}, [(100.0 + (i % 3) - 1, base + i * 1000)])
                           for inst in instances])
        on_b = set(self.points(b, "latency_ms", base - 1000, base + 60_000))
        self.assertTrue(on_b and len(on_b) < SERIES, f"rb owns {sorted(on_b)}")
        b.stop()  # SIGTERM: rb checkpoints its detector state and leaves the membership table
        self.assertTrue(wait_until(lambda: a.get("/api/v1/cluster").json["ownership"]["members"] == ["ra"],
                                   LEASE_TTL_S * 3, what="ra's view without rb"), "ra's view still has rb")
        # A jump of ~50 σ on every series: judged against the learned baseline, also on the series
        # rb learned (a fresh sigma detector would need 20 samples first).
        self.write(a, [({"__name__": "latency_ms", "instance": inst}, [(150.0, base + 41_000)]) for inst in instances])
        def firing() -> set[str]:
            r = a.get("/api/v2/alerts?filter=" + urllib.parse.quote('alertname="SlowRequests"'))
            return {x["labels"]["instance"] for x in r.json if x["status"]["state"] == "active"}
        wait_until(lambda: len(firing()) == SERIES, 5.0, what="every series flagged")
        got = firing()
        self.assertEqual(got, set(instances), f"not flagged: {sorted(set(instances) - got)} (rb's: {sorted(on_b)})")


if __name__ == "__main__":
    unittest.main()
