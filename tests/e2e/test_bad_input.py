"""Bad input: every endpoint answers a 4xx with a JSON {"error": ...} (and "field" where the field is
known), and nothing changes. Also the liveness, readiness and metrics endpoints.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_bad_input
"""

from __future__ import annotations

import json
import time
import unittest
import urllib.parse

from harness import RULE_FOR_SECONDS, ServerTestCase, raw_post_huge

UNKNOWN_ID = "987654321"
NON_NUMERIC_ID = "not-an-id"


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[:6000]


class BadInputTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iid = None

    def setUp(self):
        # One incident to aim the respond endpoints at; created once, waited on until it is quiet.
        if BadInputTest.iid is None:
            inc, _ = self.open_incident("h1")
            BadInputTest.iid = inc["id"]
            self.receiver.wait_for(lambda p: p in ("/alice", "/bob"), 1, timeout=5.0)
            self.stable_state()

    def ipath(self, suffix: str = "", iid: str | None = None) -> str:
        return f"/api/v1/incidents/{urllib.parse.quote(iid or self.iid, safe='')}{suffix}"

    def stable_state(self, timeout: float = 5.0):
        """GET /api/v1/incidents until two reads 300 ms apart agree (asynchronous notification
        events settle); returns it."""
        deadline = time.monotonic() + timeout
        prev = self.server.incidents()
        while True:
            time.sleep(0.3)
            cur = self.server.incidents()
            if cur == prev or time.monotonic() > deadline:
                return cur
            prev = cur

    def assertUnchanged(self, before, what: str):
        after = self.server.incidents()
        self.assertEqual(after, before, f"{what} changed the incidents:\nbefore {dump(before)}\nafter {dump(after)}")

    # -- push -------------------------------------------------------------------------------
    def test_push_bad_input(self):
        s = self.server
        before = self.stable_state()
        good = {"name": "system_load", "labels": {"service": "api", "instance": "h9"}, "value": 0.99}
        cases = [
            ("malformed JSON", '[{"name": "system_load", "value": 0.9', None),
            ("not JSON at all", "load=0.99", None),
            ("an object instead of an array", json.dumps(good), None),
            ("value as a string", json.dumps([{**good, "value": "0.99"}]), "value"),
            ("value null", json.dumps([{**good, "value": None}]), "value"),
            ("value missing", json.dumps([{"name": "system_load", "labels": good["labels"]}]), "value"),
            ("labels not an object", json.dumps([{**good, "labels": ["service", "api"]}]), "labels"),
            ("a label value not a string", json.dumps([{**good, "labels": {"service": 1}}]), "labels"),
            ("name missing", json.dumps([{"labels": good["labels"], "value": 0.99}]), "name"),
            ("name not a string", json.dumps([{**good, "name": 7}]), "name"),
            ("bad metric name", json.dumps([{**good, "name": "system load"}]), "name"),
            ("ts as a string", json.dumps([{**good, "ts": "yesterday"}]), "ts"),
            ("value overflowing to infinity",
             '[{"name": "system_load", "labels": {"service": "api", "instance": "h9"}, "value": 1e999}]', None),
            ("NaN literal", '[{"name": "system_load", "value": NaN}]', None),
            ("invalid UTF-8", b'[{"name": "system_load", "labels": {"service": "\xff\xfe"}, "value": 0.99}]', None),
            ("deeply nested arrays", "[" * 100000 + "]" * 100000, None),
            ("empty body", "", None),
            # A valid crossing sample followed by a bad one: the whole body must be rejected, so
            # no alert for instance h9 may appear (checked after `for` has elapsed, below).
            ("a good sample then a bad one", json.dumps([good, {**good, "value": "x"}]), "value"),
        ]
        for what, body, fld in cases:
            with self.subTest(what):
                r = s.post("/api/v1/push", raw=body)
                self.assertJsonError(r, 400, f"POST /api/v1/push with {what}", field=fld)
        with self.subTest("huge body"):
            status, text = raw_post_huge("127.0.0.1", s.port, "/api/v1/push", 20 << 20)
            self.assertEqual(status, 413, f"POST /api/v1/push with a 20 MiB body: got HTTP {status} {text[:500]!r}")
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            self.assertIsInstance(body, dict, f"413 body should be a JSON error: {text[:500]!r}")
            self.assertIsInstance(body.get("error"), str, f"413 body should be a JSON error: {text[:500]!r}")
        self.assertTrue(s.alive(), "the server died on bad push input")
        # Give a wrongly accepted crossing sample the time to fire.
        time.sleep(RULE_FOR_SECONDS + 0.5)
        self.assertUnchanged(before, "rejected pushes")

    # -- respond endpoints ----------------------------------------------------------------
    def respond_cases(self, action: str) -> list[tuple[str, str, str, int | tuple, str | None]]:
        """(what, path, raw body, expected status(es), field)."""
        p = self.ipath(f"/{action}")
        base = {"actor": "bob", "text": "x"} if action == "notes" else {"actor": "alice"}
        cases = [
            ("malformed JSON", p, json.dumps(base)[:-1], 400, None),
            ("a JSON array", p, json.dumps([base]), 400, None),
            ("actor not a string", p, json.dumps({**base, "actor": 42}), 400, "actor"),
            ("actor an object", p, json.dumps({**base, "actor": {"name": "alice"}}), 400, "actor"),
            ("an unknown incident id", self.ipath(f"/{action}", UNKNOWN_ID), json.dumps(base), 404, None),
            ("a non-numeric incident id", self.ipath(f"/{action}", NON_NUMERIC_ID), json.dumps(base), (400, 404), None),
        ]
        if action == "notes":
            cases += [
                ("text missing", p, json.dumps({"actor": "bob"}), 400, "text"),
                ("text not a string", p, json.dumps({"actor": "bob", "text": 5}), 400, "text"),
                ("text null", p, json.dumps({"actor": "bob", "text": None}), 400, "text"),
            ]
        return cases

    def check_respond(self, action: str):
        s = self.server
        before = self.stable_state()
        for what, path, body, status, fld in self.respond_cases(action):
            with self.subTest(f"{action}: {what}"):
                r = s.post(path, raw=body)
                self.assertJsonError(r, status, f"POST {path} with {what} ({body!r})", field=fld)
        with self.subTest(f"{action}: huge body"):
            status, text = raw_post_huge("127.0.0.1", s.port, self.ipath(f"/{action}"), 20 << 20)
            self.assertEqual(status, 413, f"POST {self.ipath(f'/{action}')} with a 20 MiB body: "
                                          f"got HTTP {status} {text[:500]!r}")
        self.assertTrue(s.alive(), f"the server died on bad {action} input")
        self.assertUnchanged(before, f"rejected {action} requests")

    def test_ack_bad_input(self):
        self.check_respond("ack")

    def test_resolve_bad_input(self):
        self.check_respond("resolve")

    def test_notes_bad_input(self):
        self.check_respond("notes")

    def test_task_done_unknown(self):
        s = self.server
        before = self.stable_state()
        cases = [
            ("an unknown step", self.ipath("/tasks/no-such-step/done"), 404),
            ("an unknown incident", self.ipath("/tasks/triage/done", UNKNOWN_ID), 404),
        ]
        for what, path, status in cases:
            with self.subTest(what):
                self.assertJsonError(s.post(path, {"actor": "bob"}), status, f"POST {path} ({what})")
        self.assertUnchanged(before, "rejected task requests")

    # -- reads ------------------------------------------------------------------------------
    def test_detail_and_unknown_paths(self):
        s = self.server
        before = self.stable_state()
        with self.subTest("unknown incident id"):
            self.assertJsonError(s.get(self.ipath("", UNKNOWN_ID)), 404, f"GET {self.ipath('', UNKNOWN_ID)}")
        with self.subTest("non-numeric incident id"):
            self.assertJsonError(s.get(self.ipath("", NON_NUMERIC_ID)), (400, 404),
                                 f"GET {self.ipath('', NON_NUMERIC_ID)}")
        with self.subTest("unknown path"):
            self.assertJsonError(s.get("/api/v1/no-such-thing"), 404, "GET /api/v1/no-such-thing")
        with self.subTest("unknown POST path"):
            self.assertJsonError(s.post("/api/v1/no-such-thing", {"a": 1}), 404, "POST /api/v1/no-such-thing")
        with self.subTest("unknown incident action"):
            self.assertJsonError(s.post(self.ipath("/explode"), {"actor": "alice"}), (404, 405),
                                 f"POST {self.ipath('/explode')}")
        with self.subTest("wrong method on push"):
            self.assertJsonError(s.get("/api/v1/push"), (404, 405), "GET /api/v1/push")
        with self.subTest("wrong method on ack"):
            self.assertJsonError(s.get(self.ipath("/ack")), (404, 405), f"GET {self.ipath('/ack')}")
        with self.subTest("bad list filter"):
            self.assertJsonError(s.get("/api/v1/incidents?status=exploded"), 400,
                                 "GET /api/v1/incidents?status=exploded", field="status")
        with self.subTest("bad since filter"):
            self.assertJsonError(s.get("/api/v1/incidents?since=tomorrowish"), 400,
                                 "GET /api/v1/incidents?since=tomorrowish", field="since")
        self.assertUnchanged(before, "rejected reads")

    def test_health_ready_metrics(self):
        s = self.server
        r = s.get("/healthz")
        self.assertEqual(r.status, 200, f"GET /healthz: {r!r}")
        r = s.get("/readyz")
        self.assertEqual(r.status, 200, f"GET /readyz: {r!r}")
        r = s.get("/metrics")
        self.assertEqual(r.status, 200, f"GET /metrics: {r!r}")
        ctype = {k.lower(): v for k, v in r.headers.items()}.get("content-type", "")
        self.assertTrue(ctype.startswith("text/plain"), f"GET /metrics Content-Type: {ctype!r}")
        type_lines = [l for l in r.text.splitlines() if l.startswith("# TYPE ")]
        self.assertTrue(type_lines, f"GET /metrics has no '# TYPE' lines:\n{r.text[:3000]}")
        for line in type_lines:
            parts = line.split()
            self.assertEqual(len(parts), 4, f"bad TYPE line: {line!r}")
            self.assertIn(parts[3], ("counter", "gauge", "histogram", "summary", "untyped"), f"bad TYPE line: {line!r}")


if __name__ == "__main__":
    unittest.main()
