"""A live drill against the real server (issue 7 item 3), on `tocsin serve --simulated-clock`.

A drill is registered with one participant, carol. Samples labelled drill="<id>" cross the
HighLoad rule: the incident is a drill incident titled "[DRILL] …"; level 1 of the escalation
would page the on-call person (bob), who is not in the drill, so it is skipped and the timeline
says why; level 2, ten minutes later, pages carol — marked [DRILL] — and skips the ops-hook
channel. Bob and the channel get nothing at all. Finishing the drill with a score stores it in
the drill history, and the plan's drill, overdue before (never drilled), is no longer overdue in
the calendar, /api/v1/plans and /metrics.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_live_drill
"""

from __future__ import annotations

import datetime as dt
import json
import unittest

from harness import RULE_FOR_SECONDS, ServerTestCase, on_call_at, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)  # Monday 08:00: bob is on call


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[:6000]


class LiveDrillTest(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]
    # Appended to the plan file after its steps: a top-level key of the plan, the drill cadence.
    extra_steps = "drill: {every: 30d, scenario: scenarios/system_crash.yaml}\n"

    def drill_overdue_metric(self) -> str:
        text = self.server.get("/metrics").text
        lines = [l for l in text.splitlines() if l.startswith('tocsin_plan_drill_overdue{plan="system_crash"}')]
        self.assertEqual(len(lines), 1, text[-3000:])
        return lines[0].split()[-1]

    def advance(self, by: str) -> None:
        r = self.server.post("/api/v1/clock/advance", {"by": by})
        self.assertEqual(r.status, 200, f"POST /api/v1/clock/advance {by}: {r!r}")

    def test_a_live_drill_marks_everything_and_pages_only_its_participants(self):
        s = self.server
        on_call = on_call_at(START)
        self.assertEqual(on_call, "bob")
        # Never drilled: the calendar says the drill is due, in the plans, the drills and /metrics.
        plans = s.get("/api/v1/plans").json
        self.assertEqual(plans["drill_overdue"], 1, dump(plans))
        self.assertIsNone(plans["plans"][0]["drill"]["last_run"], dump(plans))
        self.assertEqual(self.drill_overdue_metric(), "1")

        # Bad registrations change nothing.
        self.assertJsonError(s.post("/api/v1/drills/live", {"scenario": "System crash", "plan": "system_crash",
                                                           "participants": ["mallory"]}),
                             400, "an unknown participant", "participants[0]")
        self.assertJsonError(s.post("/api/v1/drills/live", {"scenario": "System crash", "plan": "system_crash",
                                                           "participants": []}),
                             400, "no participants", "participants")

        r = s.post("/api/v1/drills/live", {"scenario": "System crash", "plan": "system_crash",
                                           "participants": ["carol"], "actor": "trainer"})
        self.assertEqual(r.status, 201, f"register the live drill: {r!r}")
        drill = r.json
        drill_id = drill["id"]
        self.assertEqual(drill["label"], f'drill="{drill_id}"')
        self.assertTrue(drill["running"])

        # The drill's injected samples carry its label; they cross HighLoad (above 0.9 for 2 s).
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1", "drill": drill_id},
                     "value": 0.97}])
        self.assertEqual(r.status, 200, f"push: {r!r}")
        self.advance(f"{int(RULE_FOR_SECONDS) + 1}s")
        incidents = s.incidents()
        self.assertEqual(len(incidents), 1, dump(incidents))
        inc = incidents[0]
        self.assertTrue(inc["title"].startswith("[DRILL] "), dump(inc))
        self.assertEqual(inc["drill"], drill_id, dump(inc))
        # Level 1 would page bob (on call), who is not in the drill: skipped, and said so.
        self.assertEqual(self.receiver.snapshot(), [], self.receiver.describe())

        # Level 2 pages carol, the participant, and skips the channel.
        self.advance("10m")
        pages = self.receiver.snapshot()
        self.assertEqual([p.path for p in pages], ["/carol"], self.receiver.describe())
        page = pages[0].json
        self.assertTrue(page["summary"].startswith("[DRILL] "), dump(page))
        self.assertTrue(page["incident"]["title"].startswith("[DRILL] "), dump(page))
        self.assertEqual(page["drill"], drill_id, dump(page))

        # Two hours on: the triage and activate tasks are overdue (owners bob and the on-call
        # commander) — still nobody outside the drill hears of it.
        self.advance("2h")
        paths = [p.path for p in self.receiver.snapshot()]
        self.assertNotIn(f"/{on_call}", paths, self.receiver.describe())
        self.assertNotIn("/hook", paths, self.receiver.describe())
        self.assertNotIn("/alice", paths, self.receiver.describe())
        detail = s.get(f"/api/v1/incidents/{inc['id']}").json
        skipped = [e["detail"] for e in detail["timeline"] if e["kind"] == "drill_page_skipped"]
        self.assertIn(f"schedule:ops-primary → bob: not paged, not a participant of live drill {drill_id} "
                      f"(participants: carol)", skipped, dump(detail["timeline"]))
        self.assertIn("channel:ops-hook: not paged, channels are not paged in a drill", skipped)

        # Finishing with a score puts the run into the history.
        r = s.post(f"/api/v1/drills/live/{drill_id}/finish",
                   {"actor": "trainer", "score": 55.0, "passed": False,
                    "scorecard": {"score": 55.0, "findings": ["level 1 reached nobody in the drill"]}})
        self.assertEqual(r.status, 200, f"finish: {r!r}")
        self.assertFalse(r.json["running"])
        history = s.get("/api/v1/drills").json
        self.assertEqual(len(history["drills"]), 1, dump(history))
        run = history["drills"][0]
        self.assertEqual((run["mode"], run["plan"], run["participants"]), ("live", "system_crash", ["carol"]))
        full = s.get(f"/api/v1/drills/{run['id']}").json
        self.assertEqual(full["scorecard"]["findings"], ["level 1 reached nobody in the drill"], dump(full))
        self.assertEqual(s.post(f"/api/v1/drills/live/{drill_id}/finish", {}).status, 409)
        # The stored run resets the calendar: next drill in 30 days.
        self.assertEqual(history["drill_overdue"], 0, dump(history))
        self.assertEqual(history["calendar"][0]["last_run"], run["ran_at"], dump(history))
        self.assertEqual(self.drill_overdue_metric(), "0")


if __name__ == "__main__":
    unittest.main()
