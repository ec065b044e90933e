"""Writing a postmortem and tracking its action items (issue 8, item 1) on the real binary with a
simulated clock: an incident opens and is resolved; people write parts of the postmortem and add
an action item over the API; completing too early is a 409 naming what is missing (and so is
closing); once summary, impact and root cause are written, completing closes the incident. The
Markdown (API and `tocsin report postmortem`, byte for byte) shows what they wrote; the item is
listed across incidents (API and `tocsin report action-items`), falls overdue, is counted on
/metrics, and is tracked after the close until it is done.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_postmortem_edit
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unittest

from harness import ServerTestCase, http_request, parse_time, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


class PostmortemEditTest(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]

    def metric(self, name: str) -> float:
        text = http_request("GET", self.server.url("/metrics")).text
        m = re.search(rf"^{name} (\S+)$", text, re.M)
        self.assertIsNotNone(m, f"{name} not on /metrics")
        return float(m.group(1))

    def test_write_complete_close_and_track(self):
        s = self.server
        self.assertEqual(s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"},
                                  "value": 0.97}]).status, 200)
        self.advance("3s")
        incidents = s.incidents()
        self.assertEqual(len(incidents), 1, incidents)
        iid = incidents[0]["id"]
        pm_path = f"/api/v1/incidents/{iid}/postmortem"
        self.act(f"/api/v1/incidents/{iid}/ack", {"actor": "carol"})
        self.advance("20m")
        self.act(f"/api/v1/incidents/{iid}/resolve", {"actor": "alice"})

        # Part of it written; the rest still missing.
        r = s.put(pm_path, {"actor": "alice", "root_cause": "A runaway batch job\nsaturated the CPU.",
                            "contributing_factors": "No CPU limit on batch jobs"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["incident"], int(iid))
        self.assertEqual(r.json["status"], "resolved")
        self.assertEqual(r.json["missing"], ["summary", "impact"])
        self.assertEqual(r.json["updated_by"], "alice")
        self.assertFalse(r.json["complete"])

        # Bad input: a 4xx naming the field, and nothing changes.
        before = s.get(f"{pm_path}?format=json").json
        self.assertJsonError(s.put(pm_path, {"rootcause": "typo"}), 400, "unknown member", "rootcause")
        self.assertJsonError(s.put(pm_path, {"summary": 5}), 400, "non-string", "summary")
        due = START + dt.timedelta(days=2)
        item_path = f"{pm_path}/action-items"
        self.assertJsonError(s.post(item_path, {"title": "x", "owner": "mallory", "due_at": rfc3339(due)}),
                             400, "unknown owner", "owner")
        self.assertJsonError(s.post(item_path, {"title": "x", "owner": "bob", "due_at": "next week"}),
                             400, "bad due_at", "due_at")
        self.assertJsonError(s.post(item_path, {"title": " ", "owner": "bob", "due_at": rfc3339(due)}),
                             400, "empty title", "title")
        self.assertJsonError(s.post(f"{item_path}/99/done", {"actor": "bob"}), 404, "unknown item", "item")
        self.assertJsonError(s.get(f"{pm_path}/complete"), 405, "wrong method")
        self.assertEqual(s.get(f"{pm_path}?format=json").json, before, "a refused request changed something")

        r = s.post(item_path, {"actor": "alice", "title": "Cap CPU for batch jobs", "owner": "bob",
                               "due_at": rfc3339(due)})
        self.assertEqual(r.status, 201, r)
        [item] = r.json["action_items"]
        self.assertEqual((item["title"], item["owner"], item["due_at"], item["status"], item["overdue"]),
                         ("Cap CPU for batch jobs", "bob", rfc3339(due), "open", False))

        # Too early: 409 with the missing list; closing directly is refused the same way.
        r = s.post(f"{pm_path}/complete", {"actor": "alice"})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json["missing"], ["summary", "impact"])
        r = s.post(f"/api/v1/incidents/{iid}/close", {"actor": "alice"})
        self.assertEqual(r.status, 409, r)
        self.assertIn("missing summary, impact", r.json["error"])
        self.assertEqual(s.get(f"/api/v1/incidents/{iid}").json["status"], "resolved")

        r = s.put(pm_path, {"actor": "bob", "summary": "API slow for 20 minutes",
                            "impact": "p99 latency 4 s for all API clients"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["missing"], [])
        completed = self.advance("1m")
        r = s.post(f"{pm_path}/complete", {"actor": "alice"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "closed")
        self.assertTrue(r.json["complete"])
        self.assertEqual(parse_time(r.json["completed_at"]), completed)
        self.assertEqual(r.json["completed_by"], "alice")
        inc = s.get(f"/api/v1/incidents/{iid}").json
        self.assertEqual(inc["status"], "closed")
        kinds = [e["kind"] for e in inc["timeline"]]
        for kind in ("postmortem_edited", "action_item_added", "postmortem_completed", "closed"):
            self.assertIn(kind, kinds)
        self.assertEqual(kinds[-2:], ["postmortem_completed", "closed"])
        self.assertEqual(s.post(f"{pm_path}/complete", {"actor": "alice"}).status, 409, "completion is once")

        # The document shows what was written, the same from the API and the CLI.
        md = http_request("GET", s.url(pm_path))
        self.assertEqual(md.status, 200, md)
        self.assertEqual(md.text, r.json["draft_markdown"])
        cli_md = s.cli("report", "postmortem", iid, "--config", self.config_path)
        self.assertEqual(cli_md.returncode, 0, cli_md.stderr)
        self.assertEqual(cli_md.stdout, md.text, "the CLI and the API disagree")
        text = md.text
        self.assertTrue(text.startswith("# Postmortem: "), text[:80])
        self.assertIn("## Summary\n\nAPI slow for 20 minutes\n", text)
        self.assertIn("p99 latency 4 s for all API clients", text)
        self.assertIn("## Root cause\n\nA runaway batch job\nsaturated the CPU.\n", text)
        self.assertIn("## Contributing factors\n\nNo CPU limit on batch jobs\n", text)
        self.assertIn(f"| {item['id']} | Cap CPU for batch jobs | bob | {rfc3339(due)} | open |", text)
        self.assertIn(f"completed by alice at {rfc3339(completed)}", text)

        # Tracked across incidents until done, also after the close.
        listed = s.get("/api/v1/action-items").json["action_items"]
        self.assertEqual([(i["id"], i["incident"], i["incident_title"]) for i in listed],
                         [(item["id"], int(iid), inc["title"])])
        self.assertEqual(s.get("/api/v1/action-items?overdue=true").json["action_items"], [])
        self.assertEqual(self.metric("tocsin_action_items_open"), 1)
        self.assertEqual(self.metric("tocsin_action_items_overdue"), 0)
        self.advance("48h")
        overdue = s.get("/api/v1/action-items?overdue=true&owner=bob").json["action_items"]
        self.assertEqual([i["id"] for i in overdue], [item["id"]])
        self.assertTrue(overdue[0]["overdue"])
        self.assertEqual(self.metric("tocsin_action_items_overdue"), 1)
        cli = s.cli("report", "action-items", "--config", self.config_path, "--json")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual([(i["id"], i["title"], i["incident"]) for i in json.loads(cli.stdout)["action_items"]],
                         [(item["id"], "Cap CPU for batch jobs", int(iid))])
        cli = s.cli("report", "action-items", "--config", self.config_path)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertIn("Cap CPU for batch jobs", cli.stdout)

        r = self.act(f"{item_path}/{item['id']}/done", {"actor": "bob"})
        self.assertEqual(r["action_items"][0]["status"], "done")
        self.assertEqual(r["action_items"][0]["done_by"], "bob")
        self.assertEqual(r["status"], "closed")
        self.assertEqual(s.get("/api/v1/action-items").json["action_items"], [])
        self.assertEqual(len(s.get("/api/v1/action-items?status=done").json["action_items"]), 1)
        self.assertEqual(self.metric("tocsin_action_items_open"), 0)
        self.assertEqual(self.metric("tocsin_action_items_overdue"), 0)
        self.assertIn("| done ", http_request("GET", s.url(pm_path)).text)
        cli = s.cli("report", "action-items", "--config", self.config_path, "--status", "open")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(cli.stdout, "No action items.\n")
        bad = s.cli("report", "action-items", "--config", self.config_path, "--status", "closed")
        self.assertNotEqual(bad.returncode, 0)


if __name__ == "__main__":
    unittest.main()
