"""`tocsin serve --simulated-clock START`: the real binary on a clock that moves only when told.

A crossing sample, then POST /api/v1/clock/advance: the rule's `for` elapses, the incident opens
and level 1 pages the on-call person; ten simulated minutes later, unacknowledged, level 2 pages
carol and the ops-hook channel. Each advance returns only once everything due on the way has run,
deliveries included, at the simulated instant it fell due — so the test checks the receiver right
after each call, without waiting, and the whole scenario takes a couple of real seconds.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_simulated_clock
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unittest

from harness import PLAN_STEPS, RULE_FOR_SECONDS, ServerTestCase, on_call_at, parse_time, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)  # a Monday, an hour before a hand-off
LEVEL_2_AFTER = dt.timedelta(minutes=10)


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[:6000]


def events(inc: dict, kind: str) -> list[dict]:
    return [e for e in inc.get("timeline") or [] if e.get("kind") == kind]


class SimulatedClockTest(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]

    def now(self) -> dt.datetime:
        r = self.server.get("/api/v1/clock")
        self.assertEqual(r.status, 200, f"GET /api/v1/clock: {r!r}")
        self.assertIs(r.json["simulated"], True, r.text)
        return parse_time(r.json["now"])

    def advance(self, **body) -> dt.datetime:
        r = self.server.post("/api/v1/clock/advance", body)
        self.assertEqual(r.status, 200, f"POST /api/v1/clock/advance {body}: {r!r}")
        return parse_time(r.json["now"])

    def test_deadlines_and_escalation_on_simulated_time(self):
        s = self.server
        started = time.monotonic()
        self.assertIn("THE CLOCK IS SIMULATED", s.log_tail(), "the server should say loudly that its clock is simulated")

        # Time stands still until advanced.
        self.assertEqual(self.now(), START)
        time.sleep(0.3)
        self.assertEqual(self.now(), START, "the simulated clock moved by itself")

        # The sample is stamped with the simulated time; the rule goes pending, `for` is 2 s.
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.97}])
        self.assertEqual(r.status, 200, f"push: {r!r}")
        self.assertEqual(s.incidents(), [], "an incident opened before `for` elapsed")
        self.assertEqual(self.advance(by="1s"), START + dt.timedelta(seconds=1))
        self.assertEqual(s.incidents(), [], "an incident opened before `for` elapsed")
        self.assertEqual(self.receiver.snapshot(), [], self.receiver.describe())

        # Past `for`: the incident opened at the instant `for` elapsed (not at the advance's
        # target), and level 1's page was delivered before the advance answered.
        self.assertEqual(self.advance(by="2s"), START + dt.timedelta(seconds=3))
        incidents = s.incidents()
        self.assertEqual(len(incidents), 1, dump(incidents))
        inc = incidents[0]
        opened = parse_time(inc["opened_at"])
        self.assertEqual(opened, START + dt.timedelta(seconds=RULE_FOR_SECONDS), dump(inc))
        self.assertEqual(inc["status"], "triggered", dump(inc))
        on_call = on_call_at(opened)
        self.assertEqual(on_call, "bob")
        self.assertEqual([p.path for p in self.receiver.snapshot()], [f"/{on_call}"],
                         f"level 1 should page the on-call person, before the advance returned:\n"
                         f"{self.receiver.describe()}")
        for kind in ("escalated", "notified"):
            got = events(inc, kind)
            self.assertEqual(len(got), 1, f"one {kind!r} event after level 1: {dump(inc['timeline'])}")
            self.assertEqual(parse_time(got[0]["at"]), opened, f"{kind!r} at the simulated instant: {got[0]}")

        # Nothing acknowledged. Just before level 2 is due: still only the first page.
        level_2_at = opened + LEVEL_2_AFTER
        self.assertEqual(self.advance(to=rfc3339(level_2_at - dt.timedelta(seconds=1))),
                         level_2_at - dt.timedelta(seconds=1))
        self.assertEqual(len(self.receiver.snapshot()), 1, self.receiver.describe())

        # Ten more minutes: level 2 pages carol and the ops-hook channel at its due instant.
        self.assertEqual(self.advance(by="10m"), level_2_at - dt.timedelta(seconds=1) + dt.timedelta(minutes=10))
        self.assertEqual(sorted(p.path for p in self.receiver.snapshot()), sorted([f"/{on_call}", "/carol", "/hook"]),
                         f"level 2 should page carol and ops-hook:\n{self.receiver.describe()}")
        hook = self.receiver.snapshot("/hook")[0].json
        self.assertEqual(hook.get("version"), "4", f"ops-hook gets the Alertmanager webhook format: {hook}")
        self.assertEqual(hook["alerts"][0]["labels"]["alertname"], "HighLoad", dump(hook))
        inc = s.get(f"/api/v1/incidents/{inc['id']}").json
        escalated = events(inc, "escalated")
        self.assertEqual([parse_time(e["at"]) for e in escalated], [opened, level_2_at], dump(inc["timeline"]))
        self.assertEqual(len(events(inc, "notified")), 3, dump(inc["timeline"]))
        self.assertTrue(all(parse_time(e["at"]) == level_2_at for e in events(inc, "notified")[1:]),
                        dump(inc["timeline"]))
        self.assertEqual(inc["status"], "triggered", dump(inc))
        # The first task's deadline is on the simulated timeline too.
        self.assertEqual(parse_time(inc["tasks"][0]["due_at"]), opened + PLAN_STEPS["activate"][1], dump(inc["tasks"]))

        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 5.0, f"ten simulated minutes took {elapsed:.1f} real seconds")

    def test_bad_advances_change_nothing(self):
        before = self.now()
        for body, field in (({"by": "soon"}, "by"), ({"to": "yesterday"}, "to"),
                            ({"to": rfc3339(before - dt.timedelta(hours=1))}, "to"), ({"by": "1m", "to": rfc3339(before)}, None),
                            ({}, None), ({"step": "1m"}, "step")):
            r = self.server.post("/api/v1/clock/advance", body)
            self.assertEqual(r.status, 400, f"{body}: {r!r}")
            self.assertIsInstance(r.json.get("error"), str, r.text)
            if field:
                self.assertEqual(r.json.get("field"), field, r.text)
        self.assertEqual(self.now(), before)


class RealClockTest(ServerTestCase):
    """Without the flag the clock routes do not exist."""

    def test_clock_routes_are_404(self):
        s = self.server
        self.assertEqual(s.get("/api/v1/clock").status, 404)
        r = s.post("/api/v1/clock/advance", {"by": "10m"})
        self.assertEqual(r.status, 404, repr(r))
        self.assertNotIn("SIMULATED", s.log_tail())


if __name__ == "__main__":
    unittest.main()
