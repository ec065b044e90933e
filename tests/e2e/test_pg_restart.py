"""PostgreSQL restarted under load (docs/high-availability.md, issue 10's failure tests).

`tocsin serve` on a throwaway PostgreSQL with a pool of three connections; a load thread keeps
POSTing alerts (Alertmanager API v2), remote_write and JSON samples and incident notes while
PostgreSQL is stopped and started again. While it is down: /readyz answers 503 and the writes
that need the store answer 503 with an error naming PostgreSQL (samples, which live in data_dir,
keep being taken). Once it is back: tocsin reconnects by itself, /readyz answers 200, every kind of
write succeeds again, and the engine's background loop pages the escalation level that fell due
during the outage. Every write that got a 2xx is there afterwards — through the API, and again
after tocsin itself restarts (so in PostgreSQL, not only in memory).
"""
from __future__ import annotations

import re
import threading
import time
import urllib.parse

from harness import (ServerTestCase, http_request, on_call_candidates, parse_time, remote_write_body,
                     wait_until)
from pg_server import PostgresServer, with_store

ESCALATE_AFTER_S = 20  # level 2 (carol), instead of write_config's 10 minutes; falls due mid-outage


class LoadThread(threading.Thread):
    """Cycles alert intake, remote_write, JSON push and a note on one incident; records each
    request's kind, sequence number, status and body."""

    def __init__(self, test: "PostgresRestartTest", incident_id: str):
        super().__init__(daemon=True)
        self.test, self.incident_id = test, incident_id
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.results: list[tuple[str, int, int, str]] = []

    def send(self, kind: str, seq: int) -> tuple[int, str]:
        s = self.test.server
        if kind == "alerts":
            alerts = [{"labels": {"alertname": "RestartLoad", "seq": str(seq), "part": str(p)},
                       "annotations": {"summary": f"load alert {seq}"}} for p in range(2)]
            r = s.post("/api/v2/alerts", alerts, timeout=10)
        elif kind == "remote_write":
            body = remote_write_body([({"__name__": "restart_rw", "seq": str(seq)},
                                       [(float(seq), int(time.time() * 1000))])])
            r = http_request("POST", s.url("/api/v1/write"), body, timeout=10,
                             headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                                      "X-Prometheus-Remote-Write-Version": "0.1.0"})
        elif kind == "push":
            r = s.push([{"name": "restart_push", "labels": {"seq": str(seq)}, "value": float(seq)}])
        else:
            r = s.post(f"/api/v1/incidents/{self.incident_id}/notes", {"actor": "load", "text": f"note {seq}"},
                       timeout=10)
        return r.status, r.text

    def run(self):
        kinds = ["alerts", "remote_write", "push", "note"]
        seq = 0
        while not self.halt.is_set():
            kind = kinds[seq % len(kinds)]
            try:
                status, body = self.send(kind, seq)
            except OSError as e:  # a timeout or a refused connection: not acknowledged
                status, body = 0, str(e)
            with self.lock:
                self.results.append((kind, seq, status, body))
            seq += 1
            time.sleep(0.01)

    def snapshot(self) -> list[tuple[str, int, int, str]]:
        with self.lock:
            return list(self.results)

    def acknowledged(self, kind: str) -> set[int]:
        return {seq for k, seq, status, _ in self.snapshot() if k == kind and 200 <= status < 300}


class PostgresRestartTest(ServerTestCase):
    @classmethod
    def prepare(cls):
        cls.pg = PostgresServer()
        try:
            cls.pg.start()
            uri = cls.pg.create_database("tocsin")
        except BaseException:
            cls.pg.close()
            raise
        with_store(cls.config_path, uri)
        with open(cls.config_path) as f:
            text = f.read()
        text = text.replace("  store: ", "  store_pool: {size: 3}\n  store: ", 1)
        text = text.replace("{after: 10m,", f"{{after: {ESCALATE_AFTER_S}s,", 1)
        with open(cls.config_path, "w") as f:
            f.write(text)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.pg.close()

    def readyz(self) -> int:
        try:
            return http_request("GET", self.server.url("/readyz"), timeout=5.0).status
        except OSError:
            return 0

    def series_seqs(self, name: str) -> set[int]:
        q = urllib.parse.urlencode({"match": name, "limit": "1000"})
        r = self.server.get(f"/api/v1/series?{q}")
        self.assertEqual(r.status, 200, f"GET series {name}: {r!r}")
        return {int(s["labels"]["seq"]) for s in r.json["series"]}

    def alert_seqs(self) -> set[int]:
        r = self.server.get("/api/v2/alerts")
        self.assertEqual(r.status, 200, f"GET /api/v2/alerts: {r!r}")
        seqs: dict[int, int] = {}
        for a in r.json:
            labels = a.get("labels") or {}
            if labels.get("alertname") == "RestartLoad":
                seqs[int(labels["seq"])] = seqs.get(int(labels["seq"]), 0) + 1
        return {seq for seq, parts in seqs.items() if parts == 2}

    def note_seqs(self, iid: str) -> set[int]:
        r = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(r.status, 200, f"GET incident {iid}: {r!r}")
        return {int(m.group(1)) for e in r.json["timeline"] for m in [re.fullmatch(r"note (\d+)", e.get("detail", ""))]
                if m}

    def assert_nothing_acknowledged_is_lost(self, load: LoadThread, iid: str, when: str):
        for kind, present in (("alerts", self.alert_seqs()), ("note", self.note_seqs(iid)),
                              ("remote_write", self.series_seqs("restart_rw")),
                              ("push", self.series_seqs("restart_push"))):
            acked = load.acknowledged(kind)
            self.assertTrue(acked, f"no {kind} write was acknowledged at all")
            self.assertFalse(acked - present, f"{when}: {kind} writes answered 2xx but missing: "
                                              f"{sorted(acked - present)[:20]}")

    def test_writes_fail_cleanly_while_postgres_is_down_and_nothing_acknowledged_is_lost(self):
        s = self.server
        self.assertEqual(self.readyz(), 200)
        inc, _ = self.open_incident()
        iid = str(inc["id"])
        opened_at = parse_time(inc["opened_at"]).timestamp()
        candidates = on_call_candidates(parse_time(inc["opened_at"]))
        self.assertTrue(self.receiver.wait_for(lambda p: p.strip("/") in candidates, 1, timeout=10.0),
                        f"level 1 not paged: {self.receiver.describe()}")

        load = LoadThread(self, iid)
        load.start()
        try:
            self.assertTrue(wait_until(lambda: all(load.acknowledged(k) for k in ("alerts", "note", "push")), 15.0),
                            f"the load got no 2xx before the outage: {load.snapshot()[-8:]}")

            # Down: unready, store writes refused with a clear error, samples still taken.
            self.assertLess(time.time(), opened_at + ESCALATE_AFTER_S - 2,
                            "the machine is too slow for this test: level 2 falls due before the outage")
            self.pg.stop()
            stopped = len(load.snapshot())
            self.assertTrue(wait_until(lambda: self.readyz() == 503, 10.0), f"/readyz stays {self.readyz()}")

            def refused(kind: str) -> list[tuple[str, int, int, str]]:
                return [r for r in load.snapshot()[stopped:] if r[0] == kind and r[2] == 503]

            self.assertTrue(wait_until(lambda: refused("alerts") and refused("note"), 15.0),
                            f"no 503 for alerts and notes while PostgreSQL is down: {load.snapshot()[-8:]}")
            for kind in ("alerts", "note"):
                body = refused(kind)[-1][3]
                self.assertIn("postgres", body, f"the {kind} 503 should say the database is the problem: {body}")
            # The escalation falls due while the database is down; nothing can page it yet.
            self.assertTrue(wait_until(lambda: time.time() > opened_at + ESCALATE_AFTER_S + 1, ESCALATE_AFTER_S + 5))
            self.assertEqual(self.receiver.snapshot("/carol"), [], "carol paged while the store was down?")
            samples_during = [r for r in load.snapshot()[stopped:] if r[0] in ("push", "remote_write")]
            self.assertTrue(samples_during and all(200 <= r[2] < 300 for r in samples_during[2:]),
                            f"samples (kept in data_dir) should still be taken: {samples_during[-4:]}")
            self.assertEqual(self.readyz(), 503)

            # Back: tocsin reconnects by itself, and the loop pages the overdue level.
            self.pg.start()
            restarted = len(load.snapshot())
            self.assertTrue(wait_until(lambda: self.readyz() == 200, 20.0), f"/readyz stays {self.readyz()}")
            pages = self.receiver.wait_for("/carol", 1, timeout=15.0)
            self.assertTrue(pages, f"the level due during the outage was not paged: {self.receiver.describe()}")
            self.assertIn(iid, pages[0].body.decode(errors="replace"))

            def succeeded_since_restart(kind: str) -> bool:
                return any(r[0] == kind and 200 <= r[2] < 300 for r in load.snapshot()[restarted:])

            self.assertTrue(wait_until(lambda: all(succeeded_since_restart(k) for k in
                                                   ("alerts", "note", "push", "remote_write")), 20.0),
                            f"writes do not succeed again after the restart: {load.snapshot()[-8:]}")
        finally:
            load.halt.set()
            load.join(30)
        self.assertFalse(load.is_alive())
        self.assertEqual(len(self.receiver.snapshot("/carol")), 1, "level 2 paged exactly once")
        self.assert_nothing_acknowledged_is_lost(load, iid, "after the PostgreSQL restart")

        # And durable: the same after tocsin itself restarts (alerts and notes come from PostgreSQL).
        self.assertEqual(s.stop(), 0)
        s.start()
        self.assertTrue(wait_until(lambda: self.readyz() == 200, 10.0))
        self.assert_nothing_acknowledged_is_lost(load, iid, "after tocsin restarted")


if __name__ == "__main__":
    import unittest
    unittest.main()
