"""The postmortem draft (issue 8, item 1) of one incident driven end to end on the real binary
with a simulated clock: an alert opens the incident, level 1 pages the on-call person, nobody
answers, level 2 pages carol and the ops-hook channel ten minutes later, carol acknowledges, the
first step is done on time, triage late, recover skipped, a note with markup in it, resolved.

Then GET /api/v1/incidents/{id}/postmortem (Markdown and HTML) and `tocsin report postmortem`
(reading the same store) must agree byte for byte and state the facts the test computed itself.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_postmortem
"""

from __future__ import annotations

import datetime as dt
import re
import unittest

from harness import RULE_FOR_SECONDS, ServerTestCase, http_request, on_call_at, parse_time, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


class PostmortemTest(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]

    def test_draft_from_api_and_cli_agree_and_state_the_facts(self):
        s = self.server
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.97}])
        self.assertEqual(r.status, 200, r)
        self.advance("3s")
        incidents = s.incidents()
        self.assertEqual(len(incidents), 1, incidents)
        iid = incidents[0]["id"]
        opened = parse_time(incidents[0]["opened_at"])
        self.assertEqual(opened, START + dt.timedelta(seconds=RULE_FOR_SECONDS))
        first_on_call = on_call_at(opened)

        self.advance("10m")  # level 2: carol and the channel
        self.advance("1m")
        acked = self.act(f"/api/v1/incidents/{iid}/ack", {"actor": "carol"})
        ack_at = parse_time(acked["acknowledged_at"])
        self.act(f"/api/v1/incidents/{iid}/tasks/activate/done", {"actor": "carol"})  # due 30m: on time
        self.advance("1h")
        triage_done = parse_time(self.act(f"/api/v1/incidents/{iid}/tasks/triage/done", {"actor": "bob"})["tasks"][1]["done_at"])
        self.act(f"/api/v1/incidents/{iid}/tasks/recover/skip", {"actor": "bob"})
        self.act(f"/api/v1/incidents/{iid}/notes", {"actor": "bob", "text": "fan failed <script>alert(1)</script>"})
        self.advance("5m")
        resolved = self.act(f"/api/v1/incidents/{iid}/resolve", {"actor": "alice"})
        resolved_at = parse_time(resolved["resolved_at"])

        md = http_request("GET", s.url(f"/api/v1/incidents/{iid}/postmortem"))
        self.assertEqual(md.status, 200, md)
        self.assertTrue(md.headers.get("Content-Type", "").startswith("text/markdown; charset=utf-8"), md.headers)
        html = http_request("GET", s.url(f"/api/v1/incidents/{iid}/postmortem?format=html"))
        self.assertEqual(html.status, 200, html)
        self.assertTrue(html.headers.get("Content-Type", "").startswith("text/html; charset=utf-8"), html.headers)

        cli_md = s.cli("report", "postmortem", iid, "--config", self.config_path)
        self.assertEqual(cli_md.returncode, 0, cli_md.stderr)
        cli_html = s.cli("report", "postmortem", iid, "--config", self.config_path, "--format", "html")
        self.assertEqual(cli_html.returncode, 0, cli_html.stderr)
        self.assertEqual(cli_md.stdout, md.text, "the CLI and the API disagree (Markdown)")
        self.assertEqual(cli_html.stdout, html.text, "the CLI and the API disagree (HTML)")

        text = md.text
        # Facts computed here, from what the test did.
        impact = resolved_at - opened  # the alert fired at the opening (the rule's `for` elapsed then)
        self.assertEqual(impact, dt.timedelta(hours=1, minutes=16, seconds=1))
        self.assertIn(f"- **Start:** {rfc3339(opened)} (first alert fired)", text)
        self.assertIn(f"- **End:** {rfc3339(resolved_at)} (resolved)", text)
        self.assertIn("- **Duration:** 1h16m1s", text)
        self.assertIn("resolved after 1h16m1s of impact", text)
        self.assertIn("**HighLoad** (rule HighLoad)", text)
        self.assertIn("summary: load 0.97 on h1", text)
        self.assertIn(f"Acknowledged by **carol** at {rfc3339(ack_at)}: 11m1s after the incident opened", text)
        self.assertIn(f"Resolved by **alice** at {rfc3339(resolved_at)}.", text)
        self.assertIn(f"| {rfc3339(opened)} | escalation level 1 (pass 1) | schedule:ops-primary | webhook | "
                      f"{self.receiver.url.rstrip('/')}/{first_on_call} | sent | 1 | {rfc3339(opened)} |", text)
        level2 = rfc3339(opened + dt.timedelta(minutes=10))
        self.assertIn(f"| {level2} | escalation level 2 (pass 1) | person:carol | webhook |", text)
        self.assertIn(f"| {level2} | escalation level 2 (pass 1) | channel:ops-hook | webhook |", text)
        self.assertIn("| page: task triage is overdue | person:bob |", text)
        self.assertIn("11m1s after the incident opened, 11m1s after the first page.", text)
        self.assertIn("| activate | Activate the plan and page responders | commander", text)
        self.assertRegex(text, r"\| activate \|[^\n]*\| done on time \|")
        late = triage_done - (opened + dt.timedelta(hours=1))
        self.assertEqual(late, dt.timedelta(minutes=11, seconds=1))
        self.assertRegex(text, r"\| triage \|[^\n]*\| done late by 11m1s \|[^\n]*\| bob \|")
        self.assertRegex(text, r"\| recover \|[^\n]*\| skipped \|")
        self.assertIn("fan failed \\<script\\>alert(1)\\</script\\>", text)
        self.assertNotIn("[DRILL]", text)
        for section in ("## Root cause", "## Contributing factors", "## What went well", "## Action items"):
            self.assertIn(section, text)
        self.assertIn("3 plan steps: 1 on time, 1 late, 1 skipped, 0 open", text)

        self.assertNotIn("<script", html.text)
        self.assertIn("fan failed &lt;script&gt;alert(1)&lt;/script&gt;", html.text)
        self.assertNotRegex(html.text, r"(src|href)=", "the HTML must not fetch anything")
        self.assertIn("done late by 11m1s", html.text)

        # Errors: unknown incident, bad format — from the API and the CLI.
        r = s.get("/api/v1/incidents/999/postmortem")
        self.assertJsonError(r, 404, "unknown incident")
        r = s.get(f"/api/v1/incidents/{iid}/postmortem?format=pdf")
        self.assertJsonError(r, 400, "bad format", "format")
        bad = s.cli("report", "postmortem", "999", "--config", self.config_path)
        self.assertEqual(bad.returncode, 1, bad)
        self.assertEqual(bad.stdout, "")
        self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
        self.assertIn("no incident 999", bad.stderr)
        bad = s.cli("report", "postmortem", iid, "--config", self.config_path, "--format", "pdf")
        self.assertNotEqual(bad.returncode, 0, bad)
        self.assertEqual(bad.stdout, "")


if __name__ == "__main__":
    unittest.main()
