"""Hostile input against the real binary (docs/security.md): every intake refuses a request over
a `limits:` value whole, with a 4xx naming the limit, and stores nothing of it; a body over
max_body_bytes is a 413; a burst over limits.rate gets 429 with Retry-After; a slow client is cut
off by read_timeout while others are served, an idle keep-alive connection is closed after
idle_timeout, and connections beyond max_connections are refused with a 503."""

from __future__ import annotations

import json
import re
import socket
import time
import unittest

from harness import ServerTestCase, http_request, raw_post_huge, remote_write_body

READ_TIMEOUT = 2.0
IDLE_TIMEOUT = 2.0

LIMITS = f"""
limits:
  max_body_bytes: 65536
  max_labels_per_series: 8
  max_label_value_bytes: 64
  max_series_per_request: 5
  max_alerts_per_request: 3
  max_events_per_request: 3
  max_silence_matchers: 2
  read_timeout: {int(READ_TIMEOUT)}s
  idle_timeout: {int(IDLE_TIMEOUT)}s
"""

RATE_LIMITS = """
limits:
  max_connections: 6
  rate: {requests_per_second: 0.5, burst: 3}
"""


def metric(server, name: str) -> float:
    text = server.get("/metrics").text
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


class LimitsCase(ServerTestCase):
    limits_yaml = ""

    @classmethod
    def setUpClass(cls):
        # write_config has no limits: section; the server reads the file when it starts, so the
        # section is appended by wrapping the harness' writer.
        import harness
        original = harness.write_config

        def with_limits(*args, **kwargs):
            path = original(*args, **kwargs)
            with open(path, "a") as f:
                f.write(cls.limits_yaml)
            return path

        harness.write_config = with_limits
        try:
            super().setUpClass()
        finally:
            harness.write_config = original


class IntakeLimits(LimitsCase):
    limits_yaml = LIMITS

    def ingested(self) -> float:
        return metric(self.server, "tocsin_samples_ingested_total")

    def write(self, body: bytes):
        return http_request("POST", self.server.url("/api/v1/write"), body,
                            {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})

    def assertOver(self, r, status: int, limit: str, text: str):
        self.assertEqual(r.status, status, r)
        body = r.json
        message = body if isinstance(body, str) else body.get("error", "")
        if isinstance(body, dict):
            self.assertEqual(body.get("limit"), limit, r)
        self.assertIn(text, message, r)

    def test_push_import_events_and_remote_write_over_a_limit_store_nothing(self):
        before = self.ingested()
        six = [{"name": "lim_push", "labels": {"i": str(i)}, "value": 1} for i in range(6)]
        self.assertOver(self.server.post("/api/v1/push", six), 400, "max_series_per_request",
                        "6 samples in one request: limits.max_series_per_request is 5")
        wide = [{"name": "lim_push", "value": 1},
                {"name": "lim_push", "labels": {f"l{i}": "v" for i in range(8)}, "value": 1}]
        r = self.server.post("/api/v1/push", wide)
        self.assertOver(r, 400, "max_labels_per_series", "sample 1 has 9 labels")
        self.assertEqual(r.json["field"], "[1].labels")
        long_value = [{"name": "lim_push", "labels": {"v": "x" * 65}, "value": 1}]
        self.assertOver(self.server.post("/api/v1/push", long_value), 400, "max_label_value_bytes",
                        "is 65 bytes long: limits.max_label_value_bytes is 64")
        text = "".join(f"lim_import{{i=\"{i}\"}} 1\n" for i in range(6))
        self.assertOver(self.server.post("/api/v1/import/prometheus", raw=text), 400, "max_series_per_request",
                        "6 samples in one request")
        events = [{"type": "security", "kind": "login_failed"}] * 4
        self.assertOver(self.server.post("/api/v1/events", events), 400, "max_events_per_request",
                        "4 events in one request")
        rw = remote_write_body([({"__name__": "lim_rw", "i": str(i)}, [(1.0, int(time.time() * 1000))])
                                for i in range(6)])
        r = self.write(rw)
        self.assertOver(r, 400, "max_series_per_request", "6 series in one request")
        self.assertEqual(r.json["field"], "timeseries")
        rw = remote_write_body([({"__name__": "lim_rw", "v": "y" * 100}, [(1.0, int(time.time() * 1000))])])
        r = self.write(rw)
        self.assertOver(r, 400, "max_label_value_bytes", "series 0: the value of label \"v\" is 100 bytes long")
        self.assertEqual(self.ingested(), before, "a refused request stored samples")
        self.assertGreaterEqual(metric(self.server, 'tocsin_limits_rejected_total{limit="max_series_per_request"}'), 3)
        # At the limits, each passes.
        self.assertEqual(self.server.post("/api/v1/push", six[:5]).status, 200)
        self.assertEqual(self.server.post("/api/v1/events", events[:3]).status, 200)
        self.assertGreater(self.ingested(), before)

    def test_alerts_webhook_and_silences_over_a_limit_store_nothing(self):
        alerts = [{"labels": {"alertname": f"Lim{i}", "service": "lim"}} for i in range(4)]
        self.assertOver(self.server.post("/api/v2/alerts", alerts), 400, "max_alerts_per_request",
                        "4 alerts in one request: limits.max_alerts_per_request is 3")
        webhook = {"version": "4", "status": "firing",
                   "alerts": [{"status": "firing", "labels": {"alertname": "LimHook", "v": "z" * 65}}]}
        self.assertOver(self.server.post("/api/v1/alertmanager/webhook", webhook), 400, "max_label_value_bytes",
                        "alerts[0].labels.v: alert 0: the value of label \"v\" is 65 bytes long")
        held = self.server.get("/api/v2/alerts?filter=service%3D%22lim%22").json
        self.assertEqual(held, [], "a refused alert was stored")
        self.assertEqual(self.server.post("/api/v2/alerts", alerts[:3]).status, 200)
        self.assertEqual(len(self.server.get("/api/v2/alerts?filter=service%3D%22lim%22").json), 3)

        before = len(self.server.get("/api/v2/silences").json)
        silence = {"matchers": [{"name": f"l{i}", "value": "x", "isRegex": False, "isEqual": True} for i in range(3)],
                   "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                   "createdBy": "e2e", "comment": "too many matchers"}
        self.assertOver(self.server.post("/api/v2/silences", silence), 400, "max_silence_matchers",
                        "matchers: 3 matchers in one silence")
        self.assertEqual(len(self.server.get("/api/v2/silences").json), before)

    def test_body_over_max_body_bytes_is_413(self):
        before = self.ingested()
        status, text = raw_post_huge("127.0.0.1", self.port, "/api/v1/push", 65537)
        self.assertEqual(status, 413, text)
        self.assertIn("request body larger than 65536 bytes", json.loads(text)["error"])
        self.assertEqual(self.ingested(), before)

    def test_slowloris_is_cut_off_while_others_are_served(self):
        slow = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        slow_body = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            started = time.monotonic()
            slow_body.sendall(b"POST /api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n[")
            closed = {}
            header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
            i = 0
            while time.monotonic() - started < READ_TIMEOUT + 3 and len(closed) < 2:
                # One byte of header and one of body every 0.2 s: both always "making progress".
                for name, sock, data in (("header", slow, header[i:i + 1] or b"a"), ("body", slow_body, b" ")):
                    if name in closed:
                        continue
                    try:
                        sock.sendall(data)
                    except (BrokenPipeError, ConnectionResetError):
                        closed[name] = time.monotonic() - started
                i += 1
                # Another client is served meanwhile, promptly.
                t0 = time.monotonic()
                self.assertEqual(self.server.get("/healthz", timeout=2).status, 200)
                self.assertLess(time.monotonic() - t0, 1.0, "a slow client held up another one")
                time.sleep(0.2)
                for name, sock in (("header", slow), ("body", slow_body)):
                    if name in closed:
                        continue
                    sock.setblocking(False)
                    try:
                        if sock.recv(4096) == b"":
                            closed[name] = time.monotonic() - started
                    except BlockingIOError:
                        pass
                    except ConnectionResetError:
                        closed[name] = time.monotonic() - started
                    finally:
                        sock.setblocking(True)
            for name in ("header", "body"):
                self.assertIn(name, closed, f"the slow-{name} client was never cut off")
                self.assertGreaterEqual(closed[name], READ_TIMEOUT - 0.3, f"slow-{name} cut off too early")
                self.assertLess(closed[name], READ_TIMEOUT + 2.5, f"slow-{name} cut off too late")
        finally:
            slow.close()
            slow_body.close()

    def test_idle_keep_alive_connection_is_closed_after_idle_timeout(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"}"):
                data += sock.recv(4096)
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
            self.assertNotIn(b"Connection: close", data)
            answered = time.monotonic()
            sock.settimeout(IDLE_TIMEOUT + 5)
            self.assertEqual(sock.recv(4096), b"", "the server should close the idle connection")
            idle = time.monotonic() - answered
            self.assertGreaterEqual(idle, IDLE_TIMEOUT - 0.3)
            self.assertLess(idle, IDLE_TIMEOUT + 2)
        finally:
            sock.close()


class RateAndConnectionLimits(LimitsCase):
    limits_yaml = RATE_LIMITS

    def test_burst_over_the_rate_gets_429_with_retry_after(self):
        # Earlier tests in this class may have used tokens: wait for a full bucket (3 / 0.5 per s).
        time.sleep(6.2)
        statuses = [self.server.post("/api/v1/push", [{"name": "lim_rate", "value": i}]) for i in range(5)]
        self.assertEqual([r.status for r in statuses], [200, 200, 200, 429, 429], statuses)
        refused = statuses[3]
        self.assertEqual(refused.headers.get("Retry-After"), "2", refused.headers)
        self.assertEqual(refused.json["limit"], "rate")
        self.assertIn("too many requests from 127.0.0.1", refused.json["error"])
        # Reads are not limited.
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.assertGreaterEqual(metric(self.server, "tocsin_http_rate_limited_total"), 2)
        # After Retry-After, one more request fits.
        time.sleep(2.1)
        self.assertEqual(self.server.post("/api/v1/push", [{"name": "lim_rate", "value": 9}]).status, 200)

    def test_connections_beyond_max_connections_are_refused(self):
        held = [socket.create_connection(("127.0.0.1", self.port), timeout=5) for _ in range(6)]
        try:
            time.sleep(0.3)  # let the server register them
            extra = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while True:
                    part = extra.recv(4096)
                    if not part:
                        break
                    data += part
                self.assertTrue(data.startswith(b"HTTP/1.1 503"), data)
                self.assertIn(b"Retry-After: 1", data)
                self.assertIn(b"limits.max_connections", data)
            finally:
                extra.close()
        finally:
            for s in held:
                s.close()
        # Once they are gone, new clients are served again.
        deadline = time.monotonic() + 5
        while self.server.get("/healthz").status != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.assertGreaterEqual(metric(self.server, "tocsin_http_connections_refused_total"), 1)


if __name__ == "__main__":
    unittest.main()
