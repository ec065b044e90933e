"""The first loop end to end: a sample crosses a rule, an incident opens with its plan, the on-call
person is paged, responders ack / note / resolve it, and everything survives kill -9.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_first_loop
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unittest
import urllib.parse

from harness import (PLAN_STEPS, RULE_FOR_SECONDS, ServerTestCase, on_call_candidates, parse_time,
                     wait_until)

INCIDENT_KEYS = {"id", "title", "plan", "severity", "status", "opened_at", "acknowledged_at",
                 "resolved_at", "alerts", "tasks", "timeline"}


def load(instance: str, value: float) -> list[dict]:
    return [{"name": "system_load", "labels": {"service": "api", "instance": instance}, "value": value}]


def events(inc: dict, kind: str) -> list[dict]:
    return [e for e in inc.get("timeline") or [] if e.get("kind") == kind]


def mentions_id(obj, iid: str) -> bool:
    """True when some "id" / "incident_id" / "incident" member anywhere in obj equals iid."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("id", "incident_id", "incident") and not isinstance(v, (dict, list)) and str(v) == iid:
                return True
            if mentions_id(v, iid):
                return True
    elif isinstance(obj, list):
        return any(mentions_id(v, iid) for v in obj)
    return False


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[:6000]


class FirstLoopTest(ServerTestCase):

    def path(self, iid: str, suffix: str = "") -> str:
        return f"/api/v1/incidents/{urllib.parse.quote(str(iid), safe='')}{suffix}"

    def check_incident_shape(self, inc: dict, what: str):
        missing = INCIDENT_KEYS - set(inc)
        self.assertFalse(missing, f"{what}: incident lacks keys {sorted(missing)}: {dump(inc)}")
        self.assertIsInstance(inc["id"], str, f"{what}: id should be a string (SPEC §4 shapes): {inc['id']!r}")
        for key in ("alerts", "tasks", "timeline"):
            self.assertIsInstance(inc[key], list, f"{what}: {key} should be a list: {dump(inc)}")
        for e in inc["timeline"]:
            for key in ("at", "kind", "actor", "detail"):
                self.assertIn(key, e, f"{what}: timeline event lacks {key!r}: {e}")
            parse_time(e["at"])

    def test_first_loop(self):
        s = self.server

        # 1. A sample under the threshold creates nothing.
        r = s.push(load("h1", 0.5))
        self.assertEqual(r.status // 100, 2, f"push under the threshold: {r!r}")
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            self.assertEqual(s.incidents(), [], "a sample under the threshold opened an incident")
            time.sleep(0.05)

        # 2. A crossing sample: nothing before `for` has elapsed, then exactly one incident.
        t0 = time.time()
        r = s.push(load("h1", 0.95))
        self.assertEqual(r.status // 100, 2, f"push of a crossing sample: {r!r}")
        quiet_until = t0 + RULE_FOR_SECONDS - 0.3
        while time.time() < quiet_until:
            incs = s.incidents()
            self.assertEqual(incs, [], f"an incident opened {time.time() - t0:.2f}s after the crossing sample, "
                                       f"before `for: {RULE_FOR_SECONDS:g}s` elapsed: {dump(incs)}")
            time.sleep(0.05)
        incs = self.wait_incidents(lambda l: len(l) >= 1, 6.0,
                                   f"an incident after `for: {RULE_FOR_SECONDS:g}s` with no further sample")
        t_seen = time.time()
        self.assertEqual(len(incs), 1, f"expected exactly one incident: {dump(incs)}")
        inc = incs[0]
        self.check_incident_shape(inc, "GET /api/v1/incidents")
        iid = inc["id"]

        self.assertEqual(inc["plan"], "system_crash", dump(inc))
        self.assertEqual(inc["severity"], "critical", f"severity should be the plan's (critical), not the "
                                                      f"rule's (major): {dump(inc)}")
        self.assertEqual(inc["status"], "triggered", dump(inc))
        self.assertIsNone(inc["acknowledged_at"], dump(inc))
        self.assertIsNone(inc["resolved_at"], dump(inc))
        opened = parse_time(inc["opened_at"])
        self.assertGreaterEqual(opened.timestamp(), t0 + RULE_FOR_SECONDS - 0.25,
                                f"opened_at {inc['opened_at']} is before the crossing sample + for "
                                f"({dt.datetime.fromtimestamp(t0, dt.timezone.utc).isoformat()} + {RULE_FOR_SECONDS}s)")
        self.assertLessEqual(opened.timestamp(), t_seen + 0.25, f"opened_at {inc['opened_at']} in the future")

        # The alert.
        self.assertEqual(len(inc["alerts"]), 1, f"expected one alert: {dump(inc['alerts'])}")
        alert = inc["alerts"][0]
        self.assertIsInstance(alert.get("fingerprint"), str, f"alert fingerprint: {alert}")
        self.assertTrue(alert["fingerprint"], f"alert fingerprint empty: {alert}")
        want_labels = {"alertname": "HighLoad", "service": "api", "instance": "h1", "incident_type": "system_crash"}
        labels = alert.get("labels") or {}
        for k, v in want_labels.items():
            self.assertEqual(labels.get(k), v, f"alert label {k}: {alert}")
        self.assertNotIn("__name__", labels, f"alert labels keep __name__ (Prometheus drops it): {alert}")
        self.assertEqual(alert.get("status"), "firing", f"alert status: {alert}")

        # Tasks from the plan steps.
        tasks = {t.get("step"): t for t in inc["tasks"]}
        self.assertEqual(set(tasks), set(PLAN_STEPS), f"tasks should be the plan steps: {dump(inc['tasks'])}")
        self.assertEqual([t.get("step") for t in inc["tasks"]], list(PLAN_STEPS),
                         f"tasks should keep the plan's step order: {dump(inc['tasks'])}")
        candidates = on_call_candidates(opened)
        for step, (owner, due) in PLAN_STEPS.items():
            t = tasks[step]
            self.assertEqual(t.get("owner"), owner, f"task {step} owner: {t}")
            self.assertEqual(t.get("status"), "open", f"task {step} status: {t}")
            self.assertTrue(t.get("title"), f"task {step} title: {t}")
            self.assertIsNone(t.get("done_at"), f"task {step} done_at: {t}")
            due_at = parse_time(t.get("due_at"))
            self.assertAlmostEqual((due_at - opened).total_seconds(), due.total_seconds(), delta=1.0,
                                   msg=f"task {step} due_at {t.get('due_at')} should be opened_at "
                                       f"{inc['opened_at']} + {due}")
        self.assertEqual(tasks["triage"].get("assignee"), "bob", f"operations is person:bob: {tasks['triage']}")
        self.assertEqual(tasks["recover"].get("assignee"), "bob", f"operations is person:bob: {tasks['recover']}")
        self.assertIn(tasks["activate"].get("assignee"), candidates,
                      f"commander is schedule:ops-primary (on call: {candidates}): {tasks['activate']}")

        # Timeline.
        opened_events = events(inc, "opened")
        self.assertEqual(len(opened_events), 1, f"one 'opened' event: {dump(inc['timeline'])}")

        # The detail endpoint returns the same incident.
        r = s.get(self.path(iid))
        self.assertEqual(r.status, 200, f"GET {self.path(iid)}: {r!r}")
        self.check_incident_shape(r.json, f"GET {self.path(iid)}")
        for key in ("id", "title", "plan", "severity", "status", "opened_at", "acknowledged_at", "resolved_at",
                    "alerts", "tasks"):
            self.assertEqual(r.json[key], inc[key], f"detail vs list differ in {key!r}:\n"
                                                    f"detail {dump(r.json)}\nlist {dump(inc)}")
        self.assertEqual(r.json["timeline"][:len(inc["timeline"])], inc["timeline"],
                         f"detail timeline should extend the list's: {dump(r.json)} vs {dump(inc)}")

        # 3. The on-call person is paged through their webhook, with the incident id in the body.
        pages = self.receiver.wait_for(lambda p: p.strip("/") in candidates, 1, timeout=5.0)
        self.assertTrue(pages, f"no page POSTed to the on-call person's webhook (/{' or /'.join(sorted(candidates))}):\n"
                               f"{self.receiver.describe()}")
        page = pages[0]
        self.assertIsNotNone(page.json, f"the page body is not JSON: {page.body[:2000]!r}")
        self.assertTrue(mentions_id(page.json, iid),
                        f"the page body has no id/incident_id member equal to {iid!r}: {page.body[:2000]!r}")
        with self.subTest("carol (escalation level 2, after 10m) is not paged yet"):
            self.assertEqual(self.receiver.snapshot("/carol"), [], self.receiver.describe())
        with self.subTest("a 'notified' timeline event for the page"):
            self.wait_incident(iid, lambda i: events(i, "notified"), 5.0, "a 'notified' event")

        # 4. The CLI lists it.
        cp = s.cli("incident", "list", "--server", s.base)
        self.assertEqual(cp.returncode, 0, f"tocsin incident list: exit {cp.returncode}\nstdout: {cp.stdout}\n"
                                           f"stderr: {cp.stderr}")
        rows = [line.split() for line in cp.stdout.splitlines()]
        self.assertTrue(any((iid in row or f"#{iid}" in row) and "triggered" in row for row in rows),
                        f"tocsin incident list has no line with the id {iid!r} and status triggered:\n{cp.stdout}")

        # 5. Ack.
        t_ack = time.time()
        r = s.post(self.path(iid, "/ack"), {"actor": "alice"})
        self.assertEqual(r.status, 200, f"POST ack: {r!r}")
        inc = self.server.get(self.path(iid)).json
        self.assertEqual(inc["status"], "acknowledged", dump(inc))
        self.assertIsNotNone(inc["acknowledged_at"], dump(inc))
        acked = parse_time(inc["acknowledged_at"])
        self.assertGreaterEqual(acked, opened, dump(inc))
        self.assertLess(abs(acked.timestamp() - t_ack), 2.0, f"acknowledged_at far from now: {dump(inc)}")
        acks = events(inc, "acknowledged")
        self.assertEqual(len(acks), 1, f"one 'acknowledged' event: {dump(inc['timeline'])}")
        self.assertEqual(acks[0]["actor"], "alice", f"ack actor: {acks[0]}")
        self.assertIsNone(inc["resolved_at"], dump(inc))

        before = s.get(self.path(iid)).json
        r = s.post(self.path(iid, "/ack"), {"actor": "alice"})
        self.assertJsonError(r, 409, "a second ack")
        after = s.get(self.path(iid)).json
        self.assertEqual(after, before, "a rejected second ack changed the incident")

        # 6. A note.
        r = s.post(self.path(iid, "/notes"), {"actor": "bob", "text": "restarted api"})
        self.assertEqual(r.status, 200, f"POST notes: {r!r}")
        inc = s.get(self.path(iid)).json
        notes = events(inc, "note")
        self.assertEqual(len(notes), 1, f"one 'note' event: {dump(inc['timeline'])}")
        self.assertEqual(notes[0]["actor"], "bob", f"note actor: {notes[0]}")
        self.assertIn("restarted api", notes[0]["detail"], f"note text not in the event detail: {notes[0]}")
        self.assertEqual(inc["status"], "acknowledged", dump(inc))

        # 7. The series recovers: the alert resolves, the incident stays acknowledged.
        r = s.push(load("h1", 0.2))
        self.assertEqual(r.status // 100, 2, f"push of a recovering sample: {r!r}")
        inc = self.wait_incident(iid, lambda i: i["alerts"] and all(a.get("status") == "resolved" for a in i["alerts"]),
                                 5.0, "the alert resolved after a sample under the threshold")
        self.assertEqual(len(inc["alerts"]), 1, dump(inc["alerts"]))
        self.assertEqual(inc["status"], "acknowledged", f"the incident must stay acknowledged when its alerts "
                                                        f"resolve (a person resolves it): {dump(inc)}")
        self.assertIsNone(inc["resolved_at"], dump(inc))

        # 8. Resolve — then kill -9 at once: a 2xx means durable.
        before_resolve = s.get(self.path(iid)).json
        t_res = time.time()
        r = s.post(self.path(iid, "/resolve"), {"actor": "bob"})
        self.assertEqual(r.status, 200, f"POST resolve: {r!r}")
        s.kill()
        s.start()
        r = s.get(self.path(iid))
        self.assertEqual(r.status, 200, f"GET after kill -9 right after resolve: {r!r}")
        inc = r.json
        self.assertEqual(inc["status"], "resolved", f"resolve answered 200, then kill -9 lost it: {dump(inc)}")
        self.assertIsNotNone(inc["resolved_at"], dump(inc))
        self.assertLess(abs(parse_time(inc["resolved_at"]).timestamp() - t_res), 2.0, dump(inc))
        self.assertGreaterEqual(parse_time(inc["resolved_at"]), acked, dump(inc))
        self.assertEqual(inc["acknowledged_at"], before_resolve["acknowledged_at"], dump(inc))
        resolved = [e for e in events(inc, "resolved") if e.get("actor") == "bob"]
        self.assertEqual(len(resolved), 1, f"one 'resolved' event by bob: {dump(inc['timeline'])}")
        n = len(before_resolve["timeline"])
        self.assertEqual(inc["timeline"][:n], before_resolve["timeline"],
                         f"the timeline before resolve changed across kill -9:\nbefore {dump(before_resolve)}\n"
                         f"after {dump(inc)}")
        for key in ("id", "title", "plan", "severity", "opened_at", "alerts", "tasks"):
            self.assertEqual(inc[key], before_resolve[key], f"{key!r} changed across resolve + kill -9")

        # 9. Crash safety: the whole incident, list and detail, is identical across kill -9.
        detail_before = s.get(self.path(iid)).json
        list_before = s.incidents()
        s.kill()
        s.start()
        r = s.get(self.path(iid))
        self.assertEqual(r.status, 200, f"GET after restart: {r!r}")
        self.assertEqual(r.json, detail_before, f"incident differs after kill -9 and restart:\n"
                                                f"before {dump(detail_before)}\nafter {dump(r.json)}")
        self.assertEqual(s.incidents(), list_before, "the incident list differs after kill -9 and restart")
        with self.subTest("no page is sent again after a restart"):
            n_pages = len(self.receiver.snapshot())
            more = self.receiver.wait_for(lambda p: True, n_pages + 1, timeout=0.5)
            self.assertEqual(len(more), n_pages, f"new POSTs after restart:\n{self.receiver.describe()}")

        # A recovered series after restart opens nothing new.
        self.assertEqual(len(s.incidents()), 1)


class RestartTest(ServerTestCase):
    """kill -9 while an incident is live: the ack and the firing alert survive, and the restarted
    engine carries on from where it was (SPEC §3 "a 2xx on any write means the data is durable",
    §5 "alerts, incidents, timeline events ... survive kill -9 and restart")."""

    def path(self, iid: str, suffix: str = "") -> str:
        return f"/api/v1/incidents/{urllib.parse.quote(str(iid), safe='')}{suffix}"

    def ack_then_kill(self, instance: str) -> dict:
        """Opens an incident for `instance`, acks it, kill -9s the server right after the 200 and
        restarts it; checks the ack survived; returns the incident as it was before the kill."""
        s = self.server
        inc, _ = self.open_incident(instance)
        iid = inc["id"]
        self.receiver.wait_for(lambda p: p in ("/alice", "/bob"), 1, timeout=5.0)
        r = s.post(self.path(iid, "/ack"), {"actor": "alice"})
        self.assertEqual(r.status, 200, f"POST ack: {r!r}")
        acked = s.get(self.path(iid)).json
        s.kill()
        s.start()
        r = s.get(self.path(iid))
        self.assertEqual(r.status, 200, f"GET after kill -9 right after ack: {r!r}")
        self.assertEqual(r.json["status"], "acknowledged", f"ack answered 200, then kill -9 lost it: {dump(r.json)}")
        self.assertEqual(r.json["acknowledged_at"], acked["acknowledged_at"], dump(r.json))
        self.assertEqual(r.json["timeline"][:len(acked["timeline"])], acked["timeline"],
                         f"timeline changed across kill -9:\nbefore {dump(acked)}\nafter {dump(r.json)}")
        self.assertEqual(r.json["alerts"], acked["alerts"], "alerts changed across kill -9")
        return acked


class RestartRecoverTest(RestartTest):

    def test_alert_resolves_after_restart(self):
        s = self.server
        inc = self.ack_then_kill("h3")
        # The series recovers right after the restart: the alert that fired before the crash resolves.
        r = s.push(load("h3", 0.1))
        self.assertEqual(r.status // 100, 2, f"push: {r!r}")
        last = [None]

        def resolved():
            last[0] = s.get(self.path(inc["id"])).json
            return all(a.get("status") == "resolved" for a in last[0]["alerts"])

        self.assertTrue(wait_until(resolved, 5.0),
                        f"after kill -9 and restart, a sample under the threshold did not resolve the alert that "
                        f"fired before the crash (alert state not restored into the rule engine?): {dump(last[0])}")
        self.assertEqual(last[0]["status"], "acknowledged", dump(last[0]))


class RestartRefireTest(RestartTest):

    def test_still_firing_series_after_restart(self):
        s = self.server
        self.ack_then_kill("h4")
        pages_before = len(self.receiver.snapshot())
        # The series is still over the threshold: its alert is already firing, so this must neither
        # add an alert nor open or page anything new once `for` has passed again.
        t1 = time.time()
        r = s.push(load("h4", 0.97))
        self.assertEqual(r.status // 100, 2, f"push: {r!r}")
        while time.time() < t1 + RULE_FOR_SECONDS + 0.7:
            incs = s.incidents()
            self.assertEqual(len(incs), 1, f"a still-firing series opened another incident after restart: {dump(incs)}")
            self.assertEqual(len(incs[0]["alerts"]), 1,
                             f"a still-firing series got a second alert after restart: {dump(incs[0]['alerts'])}")
            self.assertEqual(incs[0]["alerts"][0]["status"], "firing", dump(incs[0]["alerts"]))
            time.sleep(0.1)
        self.assertEqual(len(self.receiver.snapshot()), pages_before,
                         f"pages sent again for an acknowledged incident after restart:\n{self.receiver.describe()}")


class SampleLogRestartTest(ServerTestCase):
    """kill -9 between the once-a-minute snapshots: the samples pushed since the last one come back
    from the sample log, so a rule over a window still counts them after the restart."""

    extra_rules = """\
  - name: ProbeBurst
    select: 'count_over_time(wal_probe[10m])'
    detector: {kind: threshold, above: 2.5}
    for: 0s
    severity: minor
"""

    def probe(self, value: float, ts_ms: int):
        r = self.server.push([{"name": "wal_probe", "labels": {"job": "e2e"}, "value": value, "ts": ts_ms}])
        self.assertEqual(r.status // 100, 2, f"push: {r!r}")
        return r.json

    def test_recent_window_survives_kill(self):
        s = self.server
        now = int(time.time() * 1000)
        for i in (3, 2):
            self.assertEqual(self.probe(1, now - i * 1000)["alert_transitions"], 0,
                             "two samples in the window are not a burst")
        s.kill()  # well within a minute of the start: no snapshot holds the two samples
        s.start()
        got = self.probe(1, now - 1000)
        self.assertGreater(got["alert_transitions"], 0,
                           f"the third sample in 10m should fire ProbeBurst: the two pushed before kill -9 were "
                           f"lost from the recent window: {got}\n{s.log_tail(3000)}")
        rules = {r["name"]: r for r in s.get("/api/v1/rules").json["rules"]}
        self.assertEqual(rules["ProbeBurst"]["alerts"]["firing"], 1, dump(rules["ProbeBurst"]))


class CliTest(ServerTestCase):
    """tocsin incident show / ack / resolve against a running server."""

    def test_cli_show_ack_resolve(self):
        s = self.server
        inc, _ = self.open_incident("h7")
        iid = inc["id"]

        cp = s.cli("incident", "show", iid, "--server", s.base)
        self.assertEqual(cp.returncode, 0, f"incident show: exit {cp.returncode}\n{cp.stdout}\n{cp.stderr}")
        self.assertIn(iid, cp.stdout, f"incident show does not print the id:\n{cp.stdout}")

        cp = s.cli("incident", "ack", iid, "--server", s.base)
        self.assertEqual(cp.returncode, 0, f"incident ack: exit {cp.returncode}\n{cp.stdout}\n{cp.stderr}")
        got = s.get(f"/api/v1/incidents/{urllib.parse.quote(iid, safe='')}").json
        self.assertEqual(got["status"], "acknowledged", dump(got))
        self.assertEqual(len(events(got, "acknowledged")), 1, dump(got["timeline"]))

        cp = s.cli("incident", "ack", iid, "--server", s.base)
        self.assertNotEqual(cp.returncode, 0, f"a second ack via the CLI should fail:\n{cp.stdout}\n{cp.stderr}")
        self.assertTrue(cp.stderr.strip(), "a failing CLI command should say why on stderr")

        cp = s.cli("incident", "resolve", iid, "--server", s.base)
        self.assertEqual(cp.returncode, 0, f"incident resolve: exit {cp.returncode}\n{cp.stdout}\n{cp.stderr}")
        got = s.get(f"/api/v1/incidents/{urllib.parse.quote(iid, safe='')}").json
        self.assertEqual(got["status"], "resolved", dump(got))

        cp = s.cli("incident", "show", "999999999", "--server", s.base)
        self.assertNotEqual(cp.returncode, 0, f"show of an unknown id should fail:\n{cp.stdout}")
        self.assertTrue(cp.stderr.strip(), "a failing CLI command should say why on stderr")


if __name__ == "__main__":
    unittest.main()
