"""Who is on call: GET /api/v1/oncall and `tocsin oncall` against the real binary.

The server runs on a simulated clock, so "now" is a known instant. The generated schedule
(harness.write_config) is weekly, hand-off Monday 09:00 UTC, alice then bob from 2026-01-05:
at START (Monday 2026-03-02 08:00Z, shift 7) bob is on call until 09:00, then alice.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_oncall
"""

from __future__ import annotations

import json
import unittest

from harness import ServerTestCase

START = "2026-03-02T08:00:00Z"


class OnCallTest(ServerTestCase):
    serve_args = ["--simulated-clock", START]

    def test_api_follows_the_clock(self):
        s = self.server
        r = s.get("/api/v1/oncall")
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.json, {
            "at": START,
            "schedules": [{
                "id": "ops-primary", "timezone": "UTC",
                "on_call": [{"person": "bob", "name": "Bob Li", "from": "2026-02-23T09:00:00Z",
                             "until": "2026-03-02T09:00:00Z", "source": "layer 1"}],
                "next_handoff": "2026-03-02T09:00:00Z"}]}, json.dumps(r.json, indent=1))

        # Another moment, written with an offset (the "+" must reach the server as a plus).
        r = s.get("/api/v1/oncall?at=2026-03-02T10%3A00%3A00%2B01%3A00&schedule=ops-primary")
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.json["at"], "2026-03-02T09:00:00Z")
        self.assertEqual(r.json["schedules"][0]["on_call"][0]["person"], "alice", r.text)

        for query, status, field in (("?at=noon", 400, "at"), ("?schedule=nope", 404, "schedule"),
                                     ("?team=ops", 400, "team")):
            r = s.get("/api/v1/oncall" + query)
            self.assertEqual(r.status, status, f"{query}: {r!r}")
            self.assertEqual(r.json.get("field"), field, r.text)

    def test_cli(self):
        s = self.server
        cp = s.cli("oncall", "--server", s.base, "--at", "2026-03-02T10:00:00+01:00")
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}")
        rows = [line.split() for line in cp.stdout.splitlines()]
        self.assertIn(["ops-primary", "alice", "(Alice", "Zhang)", "2026-03-09T09:00:00Z", "layer", "1"], rows,
                      cp.stdout)

        cp = s.cli("oncall", "--server", s.base, "--schedule", "ops-primary", "--json")
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}")
        body = json.loads(cp.stdout)
        self.assertEqual(body["schedules"][0]["id"], "ops-primary")
        self.assertIn(body["schedules"][0]["on_call"][0]["person"], ("alice", "bob"))

        for args, word in ((["--schedule", "nope"], "nope"), (["--at", "noon"], "noon")):
            cp = s.cli("oncall", "--server", s.base, *args)
            self.assertNotEqual(cp.returncode, 0, f"{args}: {cp.stdout}")
            self.assertIn(word, cp.stderr, f"{args}: the failure should say what was wrong: {cp.stderr!r}")
            self.assertEqual(len(cp.stderr.strip().splitlines()), 1, f"one line on stderr: {cp.stderr!r}")

    def test_when_the_clock_moves_the_answer_does(self):
        s = self.server
        r = s.post("/api/v1/clock/advance", {"to": "2026-03-02T09:00:00Z"})
        self.assertEqual(r.status, 200, repr(r))
        cp = s.cli("oncall", "--server", s.base)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}")
        self.assertIn("On call at 2026-03-02T09:00:00Z", cp.stdout)
        self.assertIn("alice", cp.stdout)
        self.assertNotIn("bob", cp.stdout)


if __name__ == "__main__":
    unittest.main()
