"""The live drill client end to end (issue 7 item 3): `tocsin drill run SCENARIO --live --server URL`
against a real server on the real clock.

The client registers a short scenario (its participant: whoever the generated schedule has on call
now, P), plays the background traffic and a load spike in real time with drill="<id>" on every
sample, and finishes the drill at the scenario's end. Meanwhile this test acts as P through the
HTTP API: acknowledges the [DRILL] incident and completes the step `activate`. The server scores
the drill from its store: the printed scorecard says P acknowledged and did activate on time, the
run is in GET /api/v1/drills as `live`, and nobody outside the drill (the other rotation member,
carol, the ops-hook channel) got anything. A bad scenario and an unreachable server are one line
on stderr and exit 1; Ctrl-C finishes the drill early and still prints its scorecard.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_live_drill_client
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time

from harness import ROTATION_MEMBERS, ServerTestCase, free_port, on_call_at, on_call_candidates, tocsin_bin

DURATION_S = 20


def scenario_yaml(participant: str, duration_s: int = DURATION_S, plan: str = "system_crash") -> str:
    return f"""\
name: live-crash
description: Load on h1 jumps over the HighLoad threshold for most of the drill.
plan: {plan}
start: 2026-01-01T00:00:00Z
duration: {duration_s}s
participants: [{participant}]
series:
  - {{name: system_load, labels: {{service: api, instance: h1}}, base: 0.3, noise: 0.01, interval: 1s}}
faults:
  - {{kind: spike, series: system_load, at: 2s, duration: {duration_s - 4}s, magnitude: 0.7}}
responders:
  - {{person: {participant}, ack_after: 1s}}
expect:
  detected_within: 10s
  acknowledged_within: 1m
  steps_in_order: [activate]
"""


class LiveDrillClientTest(ServerTestCase):
    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_client(self, scenario: str, *extra: str) -> subprocess.Popen:
        return subprocess.Popen([tocsin_bin(), "drill", "run", scenario, "--live", "--server", self.server.url(""),
                                 *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env={**os.environ, "USER": "trainer"})

    def drill_incidents(self, drill_id: str) -> list[dict]:
        return [i for i in self.server.incidents() if i.get("drill") == drill_id]

    def test_a_live_drill_is_played_in_real_time_and_scored_by_the_server(self):
        s = self.server
        now = dt.datetime.now(dt.timezone.utc)
        participant = on_call_at(now)
        if on_call_candidates(now, dt.timedelta(seconds=DURATION_S + 30)) != {participant}:
            self.skipTest("the schedule hands over during the drill")
        others = [p for p in ROTATION_MEMBERS + ["carol"] if p != participant]
        path = self.write("live.yaml", scenario_yaml(participant))
        client = self.start_client(path, "--json")
        try:
            # The drill registers, then its spike opens a [DRILL] incident that pages P.
            live = []
            deadline = time.monotonic() + 10
            while not live and time.monotonic() < deadline:
                live = s.get("/api/v1/drills/live").json["live"]
                time.sleep(0.1)
            self.assertEqual(len(live), 1, "the client registered the drill")
            drill_id = live[0]["id"]
            self.assertTrue(live[0]["scenario_known"], live[0])
            self.assertEqual(live[0]["participants"], [participant])
            incs = self.wait_incidents(lambda l: any(i.get("drill") == drill_id for i in l), 12,
                                       "the drill's incident")
            inc = next(i for i in incs if i.get("drill") == drill_id)
            self.assertTrue(inc["title"].startswith("[DRILL] "), inc["title"])
            pages = self.receiver.wait_for(f"/{participant}", 1, timeout=10)
            self.assertTrue(pages, f"{participant} is paged; got {self.receiver.describe()}")
            # P responds through the API, as a person would.
            r = s.post(f"/api/v1/incidents/{inc['id']}/ack", {"actor": participant})
            self.assertEqual(r.status, 200, f"ack: {r!r}")
            r = s.post(f"/api/v1/incidents/{inc['id']}/tasks/activate/done", {"actor": participant})
            self.assertEqual(r.status, 200, f"activate done: {r!r}")
            out, err = client.communicate(timeout=DURATION_S + 30)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
        self.assertEqual(client.returncode, 0, f"stdout: {out}\nstderr: {err}")
        self.assertIn("simulated responders are not used", err)
        self.assertRegex(err, rf"#{inc['id']} opened.*: \[DRILL\] ", "the progress shows the incident")
        self.assertIn(f"#{inc['id']} acknowledged by {participant}", err, "the progress shows the acknowledgement")
        self.assertIn(f"#{inc['id']} task_done by {participant}", err, "the progress shows the step done")
        card = json.loads(out)
        self.assertEqual(list(card)[:4], ["scenario", "plan", "seed", "start"],
                         "the key order of a simulated drill's --json")
        self.assertEqual(card["scenario"], "live-crash")
        self.assertEqual(card["acknowledged_by"], participant, json.dumps(card, indent=1))
        self.assertIsNotNone(card["time_to_acknowledge_seconds"])
        self.assertLessEqual(card["time_to_detect_seconds"], 10)
        steps = {st["step"]: st for st in card["steps"]}
        self.assertEqual(steps["activate"]["outcome"], "on_time", steps)
        self.assertEqual(steps["activate"]["done_by"], participant, steps)
        self.assertEqual(steps["triage"]["outcome"], "pending", "due in 1h: not due by the end")
        expectations = {e["name"]: e["met"] for e in card["expectations"]}
        self.assertEqual(expectations, {"detected_within": True, "acknowledged_within": True,
                                        "steps_in_order": True}, card["expectations"])
        self.assertEqual(card["score"], 100, json.dumps(card, indent=1))
        started = dt.datetime.fromisoformat(card["start"].replace("Z", "+00:00"))
        self.assertLess(abs((started - now).total_seconds()), 10, "the scenario ran from the registration time")

        # Stored in history as a live run of the drill.
        drills = s.get("/api/v1/drills").json
        runs = [d for d in drills["drills"] if d.get("live_drill") == drill_id]
        self.assertEqual(len(runs), 1, json.dumps(drills, indent=1))
        self.assertEqual(runs[0]["mode"], "live")
        self.assertEqual(runs[0]["score"], 100)
        self.assertTrue(runs[0]["passed"])
        self.assertEqual(drills["live"], [], "the drill is finished")
        # Pages went only to the participant, marked [DRILL]; nobody else got anything.
        for p in self.receiver.snapshot(f"/{participant}"):
            self.assertIn("[DRILL]", json.dumps(p.json), p.json)
        for path_ in [f"/{o}" for o in others] + ["/hook"]:
            self.assertEqual(self.receiver.snapshot(path_), [], f"{path_} got a drill page")

    def test_ctrl_c_finishes_the_drill_early_and_prints_its_scorecard(self):
        participant = on_call_at(dt.datetime.now(dt.timezone.utc)) or "carol"
        path = self.write("long.yaml", scenario_yaml(participant, duration_s=600))
        client = self.start_client(path)
        try:
            time.sleep(3)
            client.send_signal(signal.SIGINT)
            out, err = client.communicate(timeout=20)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
        self.assertEqual(client.returncode, 0, f"stdout: {out}\nstderr: {err}")
        self.assertIn("interrupted: finishing the drill early", err)
        self.assertIn("Drill live-crash — plan system_crash", out)
        self.assertRegex(out, r"  live \S+ → \S+ \((\d+)s\)")
        self.assertIn("Expectations", out)
        # The earlier live run of the scenario (when the first test ran before) is compared with.
        runs = [d for d in self.server.get("/api/v1/drills?scenario=live-crash").json["drills"]]
        if len(runs) > 1:
            self.assertIn("Compared with earlier runs of live-crash", out)
        live = self.server.get("/api/v1/drills/live").json["live"]
        self.assertFalse(any(d["running"] for d in live), live)

    def test_a_bad_scenario_is_one_line_with_its_file_and_line(self):
        # A shape error the client sees itself: line 5.
        bad = self.write("bad.yaml", scenario_yaml("carol").replace("duration: 20s", "duration: soon"))
        r = subprocess.run([tocsin_bin(), "drill", "run", bad, "--live", "--server", self.server.url("")],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertTrue(r.stderr.startswith(f"{bad}:5: duration: "), r.stderr)
        # An error only the server's config reveals: a plan it does not have, line 3.
        unknown = self.write("unknown_plan.yaml", scenario_yaml("carol", plan="nosuchplan"))
        r = subprocess.run([tocsin_bin(), "drill", "run", unknown, "--live", "--server", self.server.url("")],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn(f"{unknown}:3: plan: ", r.stderr)
        self.assertIn("HTTP 400", r.stderr)
        self.assertEqual([d for d in self.server.get("/api/v1/drills/live").json["live"]
                          if d["scenario"] == "live-crash" and d["running"]], [], "nothing registered")

    def test_an_unreachable_server_is_one_line(self):
        path = self.write("ok.yaml", scenario_yaml("carol"))
        r = subprocess.run([tocsin_bin(), "drill", "run", path, "--live", "--server", f"http://127.0.0.1:{free_port()}"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("server unreachable", r.stderr)
        self.assertEqual(r.stdout, "")
