"""Ingestion paths end to end: a crossing sample sent by Prometheus remote_write, by text
exposition import, or as events opens an incident; a bad body gets a 4xx JSON error and changes
nothing.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_ingest
"""

from __future__ import annotations

import json
import time
import unittest

from harness import (RULE_FOR_SECONDS, ServerTestCase, encode_write_request, http_request,
                     remote_write_body, snappy_compress)

FEEDBACK_THRESHOLD = 5

# A rule on the event series: more than 5 checkout-failure reports in the trailing window.
EXTRA_RULES = f"""\
  - name: FeedbackSurge
    select: 'user_feedback_reports{{kind="checkout_failed"}}'
    detector: {{kind: threshold, above: {FEEDBACK_THRESHOLD}}}
    for: 0s
    severity: major
    labels: {{incident_type: system_crash}}
"""

REMOTE_WRITE_HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                        "X-Prometheus-Remote-Write-Version": "0.1.0"}


def now_ms() -> int:
    return int(time.time() * 1000)


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[:6000]


def has_alert(incidents: list[dict], **labels: str) -> bool:
    return any(all((a.get("labels") or {}).get(k) == v for k, v in labels.items())
               for i in incidents for a in (i.get("alerts") or []))


class IngestTest(ServerTestCase):
    extra_rules = EXTRA_RULES

    def remote_write(self, body: bytes, headers: dict[str, str] | None = None):
        return http_request("POST", self.server.url("/api/v1/write"), body,
                            REMOTE_WRITE_HEADERS if headers is None else headers)

    def import_text(self, text: str | bytes):
        body = text.encode() if isinstance(text, str) else text
        return http_request("POST", self.server.url("/api/v1/import/prometheus"), body,
                            {"Content-Type": "text/plain; version=0.0.4"})

    def wait_alert(self, what: str, **labels: str) -> list[dict]:
        return self.wait_incidents(lambda l: has_alert(l, **labels), RULE_FOR_SECONDS + 8,
                                   f"an incident with an alert {labels} ({what})")

    def stable_state(self, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        prev = self.server.incidents()
        while True:
            time.sleep(0.3)
            cur = self.server.incidents()
            if cur == prev or time.monotonic() > deadline:
                return cur
            prev = cur

    # -- good input -------------------------------------------------------------------------
    def test_remote_write_opens_an_incident(self):
        t = now_ms()
        body = remote_write_body([
            ({"__name__": "system_load", "service": "api", "instance": "rw1"}, [(0.5, t - 1000), (0.97, t)]),
            ({"__name__": "up", "job": "node"}, [(1.0, t)]),
        ])
        r = self.remote_write(body)
        self.assertEqual(r.status, 204, f"POST /api/v1/write: expected 204 as Prometheus answers, got {r!r}")
        self.assertEqual(r.text, "", f"a 204 has no body: {r!r}")
        self.wait_alert("remote_write", instance="rw1", alertname="HighLoad")

    def test_remote_write_drops_stale_markers(self):
        # A stale marker (a NaN) and +Inf are dropped and counted, the finite sample is taken.
        stale = float("nan")
        t = now_ms()
        body = remote_write_body([({"__name__": "system_load", "service": "api", "instance": "rw2"},
                                   [(0.1, t - 10), (stale, t - 5), (float("inf"), t)])])
        r = self.remote_write(body)
        self.assertEqual(r.status, 204, f"remote_write with a stale marker: {r!r}")
        metrics = self.server.get("/metrics").text
        line = next((l for l in metrics.splitlines()
                     if l.startswith('tocsin_ingest_samples_dropped_total{reason="non_finite"}')), None)
        self.assertIsNotNone(line, f"/metrics lacks tocsin_ingest_samples_dropped_total:\n{metrics[:3000]}")
        self.assertGreaterEqual(float(line.split()[-1]), 2, line)

    def test_remote_write_out_of_order_is_dropped_and_counted(self):
        def counted() -> float | None:
            for line in self.server.get("/metrics").text.splitlines():
                if line.startswith("tocsin_samples_out_of_order_total"):
                    return float(line.split()[-1])
            return None

        before = counted()
        t = now_ms()
        labels = {"__name__": "system_load", "service": "api", "instance": "ooo1"}
        # Within one request, and then across requests: both later samples are older than the first.
        r = self.remote_write(remote_write_body([(labels, [(0.2, t), (0.99, t - 5000)])]))
        self.assertEqual(r.status, 204, f"remote_write with an out-of-order sample: {r!r}")
        r = self.remote_write(remote_write_body([(labels, [(0.99, t - 1000)])]))
        self.assertEqual(r.status, 204, f"remote_write of an old sample: {r!r}")
        time.sleep(RULE_FOR_SECONDS + 0.5)
        self.assertFalse(has_alert(self.server.incidents(), instance="ooo1"),
                         "a crossing sample older than the series' last must be dropped, not alert")
        after = counted()
        if after is None:
            self.skipTest("this build has no tocsin_samples_out_of_order_total metric")
        self.assertGreaterEqual(after - (before or 0), 2, "two out-of-order samples should be counted")

    def test_import_opens_an_incident(self):
        # Explicit timestamps: a line without one gets the server's time, which may be later
        # than this process's clock, and the rule engine drops a sample older than its series' last.
        t = now_ms()
        text = ("# HELP system_load Load average.\n"
                "# TYPE system_load gauge\n"
                f'system_load{{service="api",instance="imp1"}} 0.5 {t - 1000}\n'
                f'system_load{{service="api",instance="imp1"}} 0.96 {t}\n'
                "up 1\n")
        r = self.import_text(text)
        self.assertEqual(r.status, 200, f"POST /api/v1/import/prometheus: {r!r}")
        self.assertIsInstance(r.json, dict, f"expected a JSON object with counts, got {r!r}")
        self.assertEqual(r.json.get("accepted"), 3, f"three samples were sent: {r!r}")
        self.assertEqual(r.json.get("dropped"), 0, f"nothing to drop: {r!r}")
        self.wait_alert("import", instance="imp1", alertname="HighLoad")

    def test_events_surge_opens_an_incident(self):
        s = self.server
        ev = {"type": "user_feedback", "kind": "checkout_failed", "labels": {"service": "shop"}}
        r = s.post("/api/v1/events", [{**ev, "count": 2}, ev, {**ev, "labels": {"service": "blog"}}])
        self.assertEqual(r.status, 200, f"POST /api/v1/events: {r!r}")
        self.assertEqual(r.json.get("events"), 3, f"three events were sent: {r!r}")
        time.sleep(0.5)
        self.assertFalse(has_alert(s.incidents(), alertname="FeedbackSurge", service="shop"),
                         "3 reports are below the rule's threshold of 5, yet an alert exists")
        r = s.post("/api/v1/events", [{**ev, "count": 3}])
        self.assertEqual(r.status, 200, f"POST /api/v1/events: {r!r}")
        incs = self.wait_alert("events", alertname="FeedbackSurge", service="shop", kind="checkout_failed")
        self.assertFalse(has_alert(incs, alertname="FeedbackSurge", service="blog"),
                         f"the blog series had 1 report, it must not alert: {dump(incs)}")

    # -- bad input --------------------------------------------------------------------------
    def test_bad_bodies_change_nothing(self):
        s = self.server
        before = self.stable_state()
        t = now_ms()
        good = ({"__name__": "system_load", "service": "api", "instance": "bad1"}, [(0.99, t)])
        pb_good = encode_write_request([good])
        rw_cases = [
            ("garbage", b"not snappy at all", REMOTE_WRITE_HEADERS, 400),
            ("empty body", b"", REMOTE_WRITE_HEADERS, 400),
            ("valid snappy, truncated protobuf", snappy_compress(pb_good[:-3]), REMOTE_WRITE_HEADERS, 400),
            ("missing __name__", remote_write_body([({"service": "api"}, [(1.0, t)])]), REMOTE_WRITE_HEADERS, 400),
            ("a good series then a bad label name",
             remote_write_body([good, ({"__name__": "up", "a-b": "x"}, [(1.0, t)])]), REMOTE_WRITE_HEADERS, 400),
            ("gzip encoding", remote_write_body([good]), {**REMOTE_WRITE_HEADERS, "Content-Encoding": "gzip"}, 415),
            ("remote write 2.0", remote_write_body([good]),
             {**REMOTE_WRITE_HEADERS, "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"}, 415),
        ]
        for what, body, headers, status in rw_cases:
            with self.subTest(f"remote_write: {what}"):
                self.assertJsonError(self.remote_write(body, headers), status, f"POST /api/v1/write with {what}")
        with self.subTest("remote_write: the error names the field"):
            r = self.remote_write(remote_write_body([good, ({"__name__": "up", "a-b": "x"}, [(1.0, t)])]))
            self.assertJsonError(r, 400, "a bad label in the second series", field="timeseries[1]")

        import_cases = [
            ("a good line then a bad one", 'system_load{service="api",instance="bad1"} 0.99\nsystem_load{service=api} 1\n',
             "line 2"),
            ("no value", 'system_load{service="api",instance="bad1"}\n', "line 1: expected a value"),
            ("bad escape", 'system_load{service="a\\pi",instance="bad1"} 0.99\n', "invalid escape"),
            ("bad type", "# TYPE system_load gauges\n", "unknown metric type"),
            ("not UTF-8", b'system_load{service="\xff",instance="bad1"} 0.99\n', "UTF-8"),
        ]
        for what, text, message in import_cases:
            with self.subTest(f"import: {what}"):
                r = self.import_text(text)
                self.assertJsonError(r, 400, f"POST /api/v1/import/prometheus with {what}")
                self.assertIn(message, r.json["error"], f"the error should say {message!r}: {r!r}")

        ev = {"type": "user_feedback", "kind": "checkout_failed", "labels": {"service": "bad1"}, "count": 50}
        event_cases = [
            ("malformed JSON", json.dumps([ev])[:-2], None),
            ("an object, not an array", json.dumps(ev), None),
            ("unknown type", json.dumps([{**ev, "type": "alert"}]), "type"),
            ("kind missing", json.dumps([{k: v for k, v in ev.items() if k != "kind"}]), "kind"),
            ("count zero", json.dumps([{**ev, "count": 0}]), "count"),
            ("reserved label", json.dumps([{**ev, "labels": {"kind": "x"}}]), "labels"),
            ("a good event then a bad one", json.dumps([ev, {**ev, "ts": "now"}]), "ts"),
        ]
        for what, body, fld in event_cases:
            with self.subTest(f"events: {what}"):
                self.assertJsonError(s.post("/api/v1/events", raw=body), 400, f"POST /api/v1/events with {what}",
                                     field=fld)
        for path in ("/api/v1/write", "/api/v1/import/prometheus", "/api/v1/events"):
            with self.subTest(f"GET {path}"):
                self.assertJsonError(s.get(path), 405, f"GET {path}")

        self.assertTrue(s.alive(), "the server died on bad ingest input")
        time.sleep(RULE_FOR_SECONDS + 0.5)  # give a wrongly accepted crossing sample the time to fire
        after = self.server.incidents()
        self.assertFalse(has_alert(after, instance="bad1") or has_alert(after, service="bad1"),
                         f"a rejected body produced an alert: {dump(after)}")
        self.assertEqual(after, before, f"rejected bodies changed the incidents:\nbefore {dump(before)}\nafter {dump(after)}")
        # The rejected events were not counted: one report now is 1 in the window, not 51.
        r = s.post("/api/v1/events", [{**ev, "count": 1}])
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.json.get("incidents_opened"), [], f"a single report must not cross the threshold: {r!r}")


if __name__ == "__main__":
    unittest.main()
