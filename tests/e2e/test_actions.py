"""Automated actions on plan steps (issue 5), end to end: the real binary opens an incident whose
plan has an approval-gated webhook action; nothing is sent until a person approves it over HTTP;
then the receiver gets the POST with its Idempotency-Key, and the timeline shows the approval and
the result with the receiver's answer. A kill -9 and restart does not send it again.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_actions
"""

from __future__ import annotations

import json
import time
import unittest

from harness import ServerTestCase

FAILOVER_STEP = """\
  - id: failover
    title: Switch traffic to the backup server
    owner: operations
    due: 20m
    action:
      type: webhook
      url: "{receiver}/failover/{{ .Incident.ID }}/{{ .Labels.service }}"
      approve: true
      timeout: 5s
"""


def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[:6000]


def header(headers: dict[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


class ActionsTest(ServerTestCase):
    extra_steps = FAILOVER_STEP

    def test_approval_of_an_action(self):
        inc, _ = self.open_incident("h1")
        iid = inc["id"]
        path = f"/failover/{iid}/api"
        tasks = {t["step"]: t for t in inc["tasks"]}
        self.assertIsNone(tasks["triage"].get("action"), f"a step without an action: {dump(tasks['triage'])}")
        action = tasks["failover"].get("action")
        self.assertIsInstance(action, dict, f"the failover task should show its action: {dump(tasks['failover'])}")
        self.assertEqual(action.get("type"), "webhook", dump(action))
        self.assertEqual(action.get("state"), "awaiting_approval", dump(action))
        self.assertEqual(action.get("attempts"), 0, dump(action))
        self.assertIn("action_awaiting_approval", [e["kind"] for e in inc["timeline"]], dump(inc["timeline"]))

        time.sleep(0.5)
        self.assertEqual(self.receiver.snapshot(path), [], "the action ran before it was approved")

        r = self.server.post(f"/api/v1/incidents/{iid}/actions/failover/approve", {"actor": "alice"})
        self.assertEqual(r.status, 200, f"approve: {r!r}")
        approved = {t["step"]: t for t in r.json["tasks"]}["failover"]["action"]
        self.assertIn(approved.get("state"), ("pending", "running", "succeeded"), dump(approved))
        self.assertEqual(approved.get("approved_by"), "alice", dump(approved))

        got = self.receiver.wait_for(path, 1, timeout=10.0)
        self.assertEqual(len(got), 1, f"the approved action should POST to {path}:\n{self.receiver.describe()}")
        self.assertEqual(header(got[0].headers, "Idempotency-Key"), f"tocsin-{iid}-failover", got[0].headers)
        self.assertIsInstance(got[0].json, dict, got[0].body)
        self.assertEqual(got[0].json.get("event"), "incident.action", got[0].json)
        self.assertEqual(got[0].json["incident"]["id"], iid, got[0].json)
        self.assertEqual(got[0].json["step"]["id"], "failover", got[0].json)

        done = self.wait_incident(
            iid, lambda i: {t["step"]: t for t in i["tasks"]}["failover"]["action"]["state"] == "succeeded",
            10.0, "the action succeeded")
        action = {t["step"]: t for t in done["tasks"]}["failover"]["action"]
        self.assertEqual(action["attempts"], 1, dump(action))
        self.assertEqual(action["approved_by"], "alice", dump(action))
        self.assertEqual(action["last_output"], "{}", dump(action))
        timeline = done["timeline"]
        approvals = [e for e in timeline if e["kind"] == "action_approved"]
        self.assertEqual(len(approvals), 1, dump(timeline))
        self.assertEqual(approvals[0]["actor"], "alice", dump(approvals))
        successes = [e for e in timeline if e["kind"] == "action_succeeded"]
        self.assertEqual(len(successes), 1, dump(timeline))
        self.assertIn("HTTP 200", successes[0]["detail"], dump(successes))
        self.assertTrue(successes[0]["detail"].endswith(": {}"), f"the output in the detail: {dump(successes)}")
        kinds = [e["kind"] for e in timeline if e["kind"].startswith("action_")]
        self.assertEqual(kinds, ["action_awaiting_approval", "action_approved", "action_started", "action_succeeded"],
                         dump(timeline))

        # Approving again is a conflict; unknown incidents and steps, or a step without an action, are 404.
        self.assertJsonError(self.server.post(f"/api/v1/incidents/{iid}/actions/failover/approve", {"actor": "bob"}),
                             409, "approve twice")
        self.assertJsonError(self.server.post(f"/api/v1/incidents/{iid}/actions/nope/approve", {}), 404,
                             "an unknown step", "step")
        self.assertJsonError(self.server.post(f"/api/v1/incidents/{iid}/actions/triage/approve", {}), 404,
                             "a step without an action", "step")
        self.assertJsonError(self.server.post("/api/v1/incidents/987654321/actions/failover/approve", {}), 404,
                             "an unknown incident")

        # A crash and restart neither loses the result nor sends it again.
        self.server.kill()
        self.server.start()
        time.sleep(1.0)
        self.assertEqual(len(self.receiver.snapshot(path)), 1, self.receiver.describe())
        after = self.server.get(f"/api/v1/incidents/{iid}").json
        self.assertEqual({t["step"]: t for t in after["tasks"]}["failover"]["action"]["state"], "succeeded",
                         dump(after))


if __name__ == "__main__":
    unittest.main()
