"""Alerts across replicas (docs/high-availability.md#alerts-across-replicas): two `tocsin serve`
replicas on one throwaway PostgreSQL, each receiving the same Alertmanager API v2 alerts (as
Prometheus sends every alert to every Alertmanager), also at the same moment from threads that
retry on 503 as a client must. Each alert group is notified once per flush that has news, not
once per replica; a silence made on one replica mutes the alert at the other, and expired on
the other lets it through (once); a resolve that reaches only one replica is notified once, and
both replicas then list the same alerts.

Notifications are counted where they are created — rows in PostgreSQL, and the replicas'
tocsin_group_notifications_total — not as webhook receipts: which replica delivers a pending
notification is another part of issue 10 (the delivery lease).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import unittest

from harness import Tocsin, free_port, http_json, rfc3339, wait_until
from pg_server import PostgresSuite

GROUP_WAIT = 1.0
GROUP_INTERVAL = 2.0


def write_replica_config(root: str, port: int, receiver_url: str, store_uri: str) -> str:
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "tocsin.yaml")
    with open(path, "w") as f:
        f.write(f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {os.path.join(root, "data")}
  external_url: http://127.0.0.1:{port}
  store: {store_uri}
channels:
  - {{name: ops-hook, type: webhook, url: {receiver_url.rstrip("/")}/hook, format: alertmanager}}
routes:
  receiver: ops-hook
  group_by: [alertname]
  group_wait: {int(GROUP_WAIT)}s
  group_interval: {int(GROUP_INTERVAL)}s
  repeat_interval: 1h
""")
    return path


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SharedAlertsTest(PostgresSuite):
    @classmethod
    def setUpClass(cls):
        cls.start_suite("tocsin-e2e-ha-alerts-")
        uri = cls.pg.create_database("tocsin")
        cls.replicas = cls.servers  # stopped by PostgresSuite.tearDownClass
        try:
            for name in ("a", "b"):
                port = free_port()
                config = write_replica_config(os.path.join(cls.tmp, name), port, cls.receiver.url, uri)
                replica = Tocsin(config, port)
                replica.start()
                cls.replicas.append(replica)
        except Exception:
            cls.tearDownClass()
            raise
        cls.a, cls.b = cls.replicas
        cls.retried = 0  # 503s retried, over the whole class
        cls.posted = 0  # POSTs that were answered something else
        cls.retried_lock = threading.Lock()

    @classmethod
    def tearDownClass(cls):
        print(f"\n503s retried by the clients: {getattr(cls, 'retried', 0)}, "
              f"requests answered otherwise: {getattr(cls, 'posted', 0)}")
        super().tearDownClass()

    def servers_to_show(self):  # both replicas' logs when a test fails (LogsOnFailure)
        return [("replica a", self.a), ("replica b", self.b)]

    # -- helpers ---------------------------------------------------------------------------
    def post(self, replica: Tocsin, path: str, payload) -> "Response":
        """POSTs, retrying on 503 (a conflict with the other replica's transaction) as a client must."""
        for attempt in range(50):
            r = replica.post(path, payload)
            if r.status != 503:
                with self.retried_lock:
                    type(self).posted += 1
                return r
            with self.retried_lock:
                type(self).retried += 1
            time.sleep(0.02 * (attempt + 1))
        self.fail(f"POST {path} answered 503 fifty times: {r!r}")

    def post_alerts(self, replica: Tocsin, alerts: list[dict]) -> None:
        r = self.post(replica, "/api/v2/alerts", alerts)
        self.assertEqual(r.status, 200, f"POST /api/v2/alerts: {r!r}")

    def post_to_both_at_once(self, alerts: list[dict], rounds: int = 1) -> None:
        """Each replica gets the alerts from a thread of its own, at the same moment."""
        errors: list[str] = []

        def send(replica: Tocsin):
            try:
                for _ in range(rounds):
                    self.post_alerts(replica, alerts)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(f"{replica.base}: {e}")

        threads = [threading.Thread(target=send, args=(r,)) for r in self.replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])

    def notifications(self, alertname: str) -> list[dict]:
        """The group notifications created for this alertname's group, oldest first (their bodies)."""
        rows = self.pg.psql("tocsin", "SELECT payload FROM notifications WHERE incident_id IS NULL ORDER BY id")
        out = []
        for line in rows.splitlines():
            if not line.strip():
                continue
            body = json.loads(line)
            if body.get("groupLabels", {}).get("alertname") == alertname:
                out.append(body)
        return out

    def group_notifications_total(self) -> float:
        total = 0.0
        for replica in self.replicas:
            r = replica.get("/metrics")
            for line in r.text.splitlines():
                if line.startswith("tocsin_group_notifications_total"):
                    total += float(line.split()[-1])
        return total

    def settle(self) -> None:
        """Long enough for every group timer of both replicas to fire at least twice."""
        time.sleep(GROUP_WAIT + 2 * GROUP_INTERVAL + 0.5)

    def listed(self, replica: Tocsin, alertname: str) -> list[dict]:
        r = replica.get(f"/api/v2/alerts?filter=alertname%3D%22{alertname}%22")
        self.assertEqual(r.status, 200, f"GET /api/v2/alerts: {r!r}")
        return r.json

    @staticmethod
    def alert(alertname: str, instance: str, starts: dt.datetime, ends: dt.datetime | None = None) -> dict:
        a = {"labels": {"alertname": alertname, "instance": instance}, "startsAt": rfc3339(starts)}
        if ends is not None:
            a["endsAt"] = rfc3339(ends)
        return a

    # -- tests -----------------------------------------------------------------------------
    def test_the_same_alerts_at_both_replicas_are_notified_once_per_group(self):
        starts = now_utc()
        alerts = [self.alert("HaDisk", "h1", starts), self.alert("HaDisk", "h2", starts),
                  self.alert("HaCpu", "h1", starts)]
        before = self.group_notifications_total()
        self.post_to_both_at_once(alerts)
        self.assertTrue(wait_until(lambda: self.notifications("HaDisk") and self.notifications("HaCpu"),
                                   GROUP_WAIT + 10), "the groups were not notified")
        # Prometheus keeps re-sending to both: nothing new, so nothing more is sent.
        self.post_to_both_at_once(alerts, rounds=5)
        self.settle()
        disk, cpu = self.notifications("HaDisk"), self.notifications("HaCpu")
        self.assertEqual(len(disk), 1, f"HaDisk notified {len(disk)} times")
        self.assertEqual(len(cpu), 1, f"HaCpu notified {len(cpu)} times")
        self.assertEqual(sorted(a["labels"]["instance"] for a in disk[0]["alerts"]), ["h1", "h2"])
        self.assertEqual(self.group_notifications_total() - before, 2,
                         "the replicas' counters agree with the rows")
        # Both list the same alerts.
        for name in ("HaDisk", "HaCpu"):
            fa = sorted(x["fingerprint"] for x in self.listed(self.a, name))
            fb = sorted(x["fingerprint"] for x in self.listed(self.b, name))
            self.assertEqual(fa, fb, name)
        self.assertTrue(self.receiver.wait_for("/hook", 1, timeout=10.0), "nothing delivered")

    def test_a_silence_made_on_one_replica_mutes_the_alert_at_the_other(self):
        start = now_utc()
        silence = {"matchers": [{"name": "alertname", "value": "HaMuted", "isRegex": False, "isEqual": True}],
                   "startsAt": rfc3339(start - dt.timedelta(seconds=1)),
                   "endsAt": rfc3339(start + dt.timedelta(hours=1)), "createdBy": "alice", "comment": "maintenance"}
        r = self.post(self.a, "/api/v2/silences", silence)
        self.assertEqual(r.status, 200, f"POST /api/v2/silences: {r!r}")
        sid = r.json["silenceID"]
        # Bad input changes nothing, on either replica.
        bad = self.b.post("/api/v2/silences", {"matchers": [], "startsAt": rfc3339(start),
                                               "endsAt": rfc3339(start + dt.timedelta(hours=1))})
        self.assertEqual(bad.status, 400, f"a silence without matchers: {bad!r}")
        ids = sorted(s["id"] for s in self.b.get("/api/v2/silences").json)
        self.assertEqual(ids, sorted(s["id"] for s in self.a.get("/api/v2/silences").json))
        self.assertIn(sid, ids, "B lists A's silence")

        self.post_alerts(self.b, [self.alert("HaMuted", "h1", start)])
        listed = self.listed(self.b, "HaMuted")
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["status"]["state"], "suppressed", listed)
        self.assertEqual(listed[0]["status"]["silencedBy"], [sid])
        self.post_alerts(self.a, [self.alert("HaMuted", "h1", start)])
        self.settle()
        self.assertEqual(self.notifications("HaMuted"), [], "muted on both replicas")

        r = http_json("DELETE", self.b.url(f"/api/v2/silence/{sid}"), timeout=10.0)
        self.assertEqual(r.status, 200, f"B expires A's silence: {r!r}")
        self.assertEqual(self.listed(self.a, "HaMuted")[0]["status"]["state"], "active",
                         "A sees the expiry at once")
        self.assertTrue(wait_until(lambda: self.notifications("HaMuted"), GROUP_INTERVAL + 10),
                        "not notified after the silence expired")
        self.settle()
        self.assertEqual(len(self.notifications("HaMuted")), 1)

    def test_a_resolve_at_one_replica_is_notified_once_and_both_list_the_same(self):
        starts = now_utc()
        firing = [self.alert("HaResolve", "h1", starts)]
        self.post_to_both_at_once(firing)
        self.assertTrue(wait_until(lambda: self.notifications("HaResolve"), GROUP_WAIT + 10), "not notified")
        self.assertEqual(len(self.listed(self.a, "HaResolve")), 1)
        self.post_alerts(self.b, [self.alert("HaResolve", "h1", starts, now_utc())])
        self.assertTrue(wait_until(lambda: len(self.notifications("HaResolve")) >= 2, GROUP_INTERVAL + 10),
                        "the resolve was not notified")
        self.settle()
        sent = self.notifications("HaResolve")
        self.assertEqual([n["status"] for n in sent], ["firing", "resolved"])
        self.assertEqual(self.listed(self.b, "HaResolve"), [])
        self.assertTrue(wait_until(lambda: self.listed(self.a, "HaResolve") == [], GROUP_INTERVAL + 5),
                        "A still lists the alert B resolved")


if __name__ == "__main__":
    unittest.main()
