"""Slow and failing neighbours, end to end with the real binary on a real clock: webhook targets
that hang (accept and never answer), reset the connection, answer 503, or read the request body
very slowly, and an SMTP server that hangs. Each bad target is paged together with a healthy
webhook channel; the healthy page must arrive within HEALTHY_WITHIN seconds, well before the bad
target's BAD_TIMEOUT, while samples pushed meanwhile are accepted and their rule still opens an
incident whose page arrives too. Then the bad target's notification is retried after its
back-off and delivered once the target recovers (the slow reader is delivered on its first try).

Needs nothing beyond the standard library (the hanging SMTP server is smtp_sink.py --hang).
Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_slow_neighbours
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

from harness import (RULE_FOR_SECONDS, LogsOnFailure, SmtpSink, Tocsin, WebhookReceiver, free_port, wait_until)

BAD_TIMEOUT = 20  # seconds: the bad targets' channel timeout
HEALTHY_WITHIN = 5  # seconds from the incident opening to the healthy page
SLOW_READ_SECONDS = 6.0  # how long the slow target takes to read a body (then it answers 200)
FIRST_BACKOFF = 5.0  # RetryPolicy's first back-off; jitter ±20 %
MODES = ("hang", "reset", "5xx", "slow")


class BadTarget:
    """A webhook target misbehaving by `mode` (hang | reset | 5xx | slow | ok; settable at any
    time, for the next connection). Records (mode, accepted at, finished at) per connection."""

    def __init__(self, mode: str):
        self.mode = mode
        self.connections: list[dict] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                record = {"mode": self.mode, "accepted": time.time(), "finished": None}
                self.connections.append(record)
            threading.Thread(target=self._serve, args=(conn, record), daemon=True).start()

    @staticmethod
    def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the request head ended")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head, rest

    def _serve(self, conn: socket.socket, record: dict):
        mode = record["mode"]
        try:
            with conn:
                if mode == "hang":
                    while conn.recv(4096):  # read everything, answer nothing, until the client gives up
                        pass
                    return
                head, body = self._read_head(conn)
                if mode == "reset":
                    # SO_LINGER 0: close() sends RST instead of FIN.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                length = int(m.group(1)) if m else 0
                if re.search(rb"(?i)expect:\s*100-continue", head):
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                if mode == "slow":
                    # Ten slices over SLOW_READ_SECONDS (however much of the body came with the
                    # head: the client waits for the answer either way).
                    step = max(1, (length - len(body) + 9) // 10)
                    for _ in range(10):
                        time.sleep(SLOW_READ_SECONDS / 10)
                        if len(body) < length:
                            chunk = conn.recv(min(step, length - len(body)))
                            if not chunk:
                                return
                            body += chunk
                while len(body) < length:
                    chunk = conn.recv(length - len(body))
                    if not chunk:
                        return
                    body += chunk
                status = b"503 Service Unavailable" if mode == "5xx" else b"200 OK"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            with self.lock:
                record["finished"] = time.time()

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [dict(c) for c in self.connections]

    def close(self):
        self.stopping.set()
        self.listener.close()


def write_config(root: str, port: int, good_url: str, bad: dict[str, BadTarget], smtp_port: int) -> str:
    channels = "\n".join(
        f"  - {{name: bad-{m}, type: webhook, url: {t.url}/hook, timeout: {BAD_TIMEOUT}s}}" for m, t in bad.items())
    policies = "\n".join(
        f"  - {{id: esc-{m}, levels: [{{after: 0m, notify: [\"channel:bad-{m}\", \"channel:good\"]}}]}}"
        for m in list(bad) + ["mail"])
    plans = "\n".join(
        f"  - {{id: plan-{m}, title: \"{m} neighbour\", match: ['target=\"{m}\"'], severity: critical, "
        f"escalation: esc-{m}, steps: [{{id: look, title: Look, due: 15m}}]}}"
        for m in list(bad) + ["mail"])
    text = f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {os.path.join(root, "data")}
  external_url: http://127.0.0.1:{port}
channels:
  - {{name: good, type: webhook, url: {good_url}/good}}
  - {{name: group, type: webhook, url: {good_url}/group, format: alertmanager}}
{channels}
  - {{name: bad-mail, type: email, smtp: {{host: 127.0.0.1, port: {smtp_port}, from: tocsin@example.test}},
     to: [ops@example.test], timeout: {BAD_TIMEOUT}s}}
escalation_policies:
{policies}
  - {{id: esc-healthy, levels: [{{after: 0m, notify: ["channel:good"]}}]}}
rules:
  - name: HighLoad
    select: 'system_load'
    detector: {{kind: threshold, above: 0.9}}
    for: {int(RULE_FOR_SECONDS)}s
    annotations: {{summary: "load on {{{{ $labels.instance }}}}"}}
routes:
  receiver: group
  group_by: [alertname, instance]
  group_wait: 0s
plans:
{plans}
  - {{id: plan-healthy, title: Healthy, match: ['target="healthy"'], severity: critical, escalation: esc-healthy,
     steps: [{{id: look, title: Look, due: 15m}}]}}
"""
    path = os.path.join(root, "tocsin.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class SlowNeighboursTest(LogsOnFailure):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-neighbours-")
        cls.receiver = WebhookReceiver()  # the healthy channel, and the alert groups
        cls.bad = {m: BadTarget(m) for m in MODES}
        cls.smtp = SmtpSink(os.path.join(cls.tmp, "smtp"), hang=True)
        cls.port = free_port()
        config = write_config(cls.tmp, cls.port, cls.receiver.url, cls.bad, cls.smtp.port)
        cls.server = Tocsin(config, cls.port)
        try:
            cls.server.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "server", None) and cls.server.alive():
                cls.server.stop(timeout=BAD_TIMEOUT + 10)  # a send in flight may run to its timeout
        finally:
            cls.receiver.close()
            for t in cls.bad.values():
                t.close()
            if getattr(cls, "smtp", None):
                cls.smtp.close()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------
    def open_incident(self, target: str, instance: str) -> tuple[str, float]:
        """Pushes a crossing sample (must be accepted) and waits for its incident: (id, push time)."""
        t0 = time.time()
        r = self.server.push([{"name": "system_load", "labels": {"target": target, "instance": instance},
                               "value": 0.95}])
        self.assertEqual(r.status // 100, 2, f"push for {instance}: {r!r}")

        def find():
            for inc in self.server.incidents():
                if any((a.get("labels") or {}).get("instance") == instance for a in inc.get("alerts") or []):
                    return inc["id"]
            return None
        iid = wait_until(find, RULE_FOR_SECONDS + 8)
        self.assertIsNotNone(iid, f"no incident for {instance}")
        return iid, t0

    def healthy_page(self, iid: str, pushed_at: float) -> float:
        """Waits for the healthy channel's page of incident `iid`; returns seconds since the push,
        which must be within the rule's `for` plus HEALTHY_WITHIN."""
        budget = RULE_FOR_SECONDS + HEALTHY_WITHIN

        def page():
            return next((r for r in self.receiver.snapshot("/good")
                         if r.json and r.json.get("incident", {}).get("id") == iid), None)
        got = wait_until(page, budget)
        self.assertIsNotNone(got, f"the healthy page of incident {iid} did not arrive within {budget}s: "
                                  f"{self.receiver.describe()}")
        sys.stderr.write(f"\n  healthy page of incident {iid}: {got.at - pushed_at:.2f}s after the push "
                         f"(the rule's for: {RULE_FOR_SECONDS:.0f}s)\n")
        return got.at - pushed_at

    def timeline(self, iid: str) -> list[dict]:
        r = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(r.status, 200, repr(r))
        return r.json["timeline"]

    def wait_delivered(self, iid: str, channel: str, timeout: float) -> dict:
        def event():
            return next((e for e in self.timeline(iid) if e["kind"] == "notified" and channel in e["detail"]), None)
        got = wait_until(event, timeout, interval=0.2)
        self.assertIsNotNone(got, f"{channel} not delivered within {timeout}s; timeline: {self.timeline(iid)}")
        return got

    def metric(self, series: str) -> float:
        text = self.server.get("/metrics").text
        m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
        self.assertIsNotNone(m, f"{series} not in /metrics")
        return float(m.group(1))

    def healthy_meanwhile(self, name: str) -> None:
        """Samples pushed while a bad send is in flight are accepted, and the rule fires on them:
        a new incident whose (healthy) page arrives promptly."""
        iid, t0 = self.open_incident("healthy", f"meanwhile-{name}")
        self.assertLess(self.healthy_page(iid, t0), RULE_FOR_SECONDS + HEALTHY_WITHIN)

    # -- the tests --------------------------------------------------------------------------
    def test_hanging_target(self):
        target = self.bad["hang"]
        iid, t0 = self.open_incident("hang", "n-hang")
        took = self.healthy_page(iid, t0)
        self.assertTrue(wait_until(lambda: target.snapshot(), 5), "the hanging target was never called")
        self.assertIsNone(target.snapshot()[0]["finished"], "the bad send is still in flight")
        self.assertLess(took, BAD_TIMEOUT / 2)
        # The healthy page counts as in flight until its attempt is recorded (a commit and its
        # flush after the receiver got it): wait for that, then only the hanging send is left.
        in_flight = 'tocsin_notify_in_flight{channel="webhook"}'
        self.assertTrue(wait_until(lambda: self.metric(in_flight) == 1, 5),
                        f"webhook sends in flight: {self.metric(in_flight)}")
        self.assertGreater(self.metric('tocsin_notify_oldest_pending_age_seconds{channel="webhook"}'), 0)
        self.healthy_meanwhile("hang")
        self.assertIsNone(target.snapshot()[0]["finished"], "still hanging while the rest went on")
        # The send times out after BAD_TIMEOUT; the target recovers; the retry delivers it.
        first = wait_until(lambda: target.snapshot()[0]["finished"], BAD_TIMEOUT + 5)
        self.assertIsNotNone(first, "tocsin never gave up the hanging connection")
        self.assertGreaterEqual(first - target.snapshot()[0]["accepted"], BAD_TIMEOUT - 1)
        target.mode = "ok"
        self.wait_delivered(iid, "channel:bad-hang", FIRST_BACKOFF * 1.2 + 5)
        retry = target.snapshot()[1]
        self.assertGreaterEqual(retry["accepted"] - first, FIRST_BACKOFF * 0.8 - 0.5, "retried after its back-off")

    def _failing_then_recovering(self, mode: str):
        target = self.bad[mode]
        iid, t0 = self.open_incident(mode, f"n-{mode}")
        self.assertLess(self.healthy_page(iid, t0), RULE_FOR_SECONDS + HEALTHY_WITHIN)
        self.healthy_meanwhile(mode)
        # Tried, failed, and tried again after the back-off (5 s ± 20 %), not in a tight loop.
        self.assertTrue(wait_until(lambda: len(target.snapshot()) >= 2, FIRST_BACKOFF * 1.2 + 5),
                        f"the {mode} target was not retried: {target.snapshot()}")
        first, second = target.snapshot()[:2]
        self.assertGreaterEqual(second["accepted"] - first["accepted"], FIRST_BACKOFF * 0.8 - 0.5)
        self.assertFalse([e for e in self.timeline(iid) if e["kind"] == "notified" and f"bad-{mode}" in e["detail"]])
        target.mode = "ok"
        self.wait_delivered(iid, f"channel:bad-{mode}", FIRST_BACKOFF * 2 * 1.2 + 5)

    def test_resetting_target(self):
        self._failing_then_recovering("reset")

    def test_target_answering_503(self):
        self._failing_then_recovering("5xx")

    def test_slowly_reading_target(self):
        target = self.bad["slow"]
        iid, t0 = self.open_incident("slow", "n-slow")
        self.assertLess(self.healthy_page(iid, t0), RULE_FOR_SECONDS + HEALTHY_WITHIN)
        self.assertTrue(wait_until(lambda: target.snapshot(), 5), "the slow target was never called")
        self.assertIsNone(target.snapshot()[0]["finished"], "the slow read is still going on")
        self.healthy_meanwhile("slow")
        # Slow but within the timeout: delivered on the first try.
        self.wait_delivered(iid, "channel:bad-slow", SLOW_READ_SECONDS + 10)
        self.assertEqual(len(target.snapshot()), 1)

    def test_hanging_smtp_server(self):
        iid, t0 = self.open_incident("mail", "n-mail")
        took = self.healthy_page(iid, t0)
        self.assertTrue(wait_until(lambda: self.smtp.connections(), 5), "the SMTP server was never called")
        self.assertIsNone(self.smtp.connections()[0][1], "the SMTP session is still hanging")
        self.assertLess(took, BAD_TIMEOUT / 2)
        self.assertEqual(self.metric('tocsin_notify_in_flight{channel="email"}'), 1)
        self.healthy_meanwhile("mail")
        # The session times out; the mail stays pending for its retry.
        closed = wait_until(lambda: self.smtp.connections()[0][1], BAD_TIMEOUT + 5)
        self.assertIsNotNone(closed, "tocsin never gave up the hanging SMTP session")
        self.assertGreaterEqual(closed - self.smtp.connections()[0][0], BAD_TIMEOUT - 1)
        self.assertTrue(wait_until(lambda: self.metric('tocsin_notify_in_flight{channel="email"}') == 0, 5))
        self.assertGreaterEqual(self.metric('tocsin_notify_pending{channel="email"}'), 1, "pending for its retry")
        self.assertFalse([e for e in self.timeline(iid) if e["kind"] in ("notified", "notify_failed")
                          and "bad-mail" in e["detail"]])


if __name__ == "__main__":
    unittest.main()
