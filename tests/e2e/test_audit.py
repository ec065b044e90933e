"""The audit log and the compliance status (issue 8, item 3) end to end on the real binary with a
simulated clock: an incident is acknowledged and a breach confirmed, a silence is created and
expired through the Alertmanager API v2, the clock is moved 73 hours; then GET /api/v1/audit
(JSON and RFC 4180 CSV), `tocsin report audit --csv` (the same bytes, read from the store),
GET /api/v1/compliance (the 72-hour regulator clock missed), `tocsin report compliance --json` and
/metrics must all say so.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_audit
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import unittest

from harness import ServerTestCase, http_request, parse_time, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


class AuditTest(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]
    extra_steps = """\
  - {id: notify_regulator, title: Notify the supervisory authority, owner: operations, due: 96h}
clocks:
  - {name: regulator, within: 72h, from: breach_confirmed, until: "task_done:notify_regulator", owner: operations}
review_every: 90d
reviewed: 2026-01-01
"""

    def advance(self, by: str, actor: str = "trainer") -> dt.datetime:
        r = self.server.post("/api/v1/clock/advance", {"by": by, "actor": actor})
        self.assertEqual(r.status, 200, f"advance by {by}: {r!r}")
        return parse_time(r.json["now"])

    def test_changes_are_audited_and_the_missed_clock_is_reported(self):
        s = self.server
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.97}])
        self.assertEqual(r.status, 200, r)
        self.advance("3s")
        incidents = s.incidents()
        self.assertEqual(len(incidents), 1, incidents)
        iid = incidents[0]["id"]

        r = s.post(f"/api/v1/incidents/{iid}/ack", {"actor": "carol"})
        self.assertEqual(r.status, 200, r)
        r = s.post(f"/api/v1/incidents/{iid}/events", {"actor": "carol", "kind": "breach_confirmed",
                                                       "detail": "customer table copied"})
        self.assertEqual(r.status, 200, r)
        confirmed = parse_time(next(e["at"] for e in r.json["timeline"] if e["kind"] == "breach_confirmed"))
        # Refused changes leave no trace.
        self.assertEqual(s.post(f"/api/v1/incidents/{iid}/ack", {"actor": "carol"}).status, 409)
        self.assertEqual(s.post(f"/api/v1/incidents/{iid}/tasks/nope/done", {"actor": "carol"}).status, 404)

        now = START + dt.timedelta(seconds=3)
        silence = {"matchers": [{"name": "instance", "value": "h1", "isRegex": False}],
                   "startsAt": rfc3339(now), "endsAt": rfc3339(now + dt.timedelta(hours=2)),
                   "createdBy": "dave", "comment": 'disk swap, "rack 4"'}
        r = s.post("/api/v2/silences", silence)
        self.assertEqual(r.status, 200, r)
        sid = r.json["silenceID"]
        d = http_request("DELETE", s.url(f"/api/v2/silence/{sid}"))
        self.assertEqual(d.status, 200, d)

        self.advance("73h")

        j = s.get("/api/v1/audit")
        self.assertEqual(j.status, 200, j)
        entries = j.json["entries"]
        self.assertEqual([(e["actor"], e["action"], e["object"]) for e in entries], [
            ("trainer", "clock.advance", "clock"),
            ("carol", "incident.acknowledge", f"incident/{iid}"),
            ("carol", "incident.event", f"incident/{iid}"),
            ("dave", "silence.create", f"silence/{sid}"),
            ("dave", "silence.expire", f"silence/{sid}"),
            ("trainer", "clock.advance", "clock"),
        ], "pushed samples are not audited; refused changes are not either")
        self.assertEqual(entries[2]["detail"], "breach_confirmed: customer table copied")
        self.assertIn('disk swap, "rack 4"', entries[3]["detail"])
        for e in entries:
            self.assertTrue(e["source"].startswith("127.0.0.1:"), e)

        c = http_request("GET", s.url("/api/v1/audit?format=csv"))
        self.assertEqual(c.status, 200, c)
        self.assertTrue(c.headers.get("Content-Type", "").startswith("text/csv"), c.headers)
        self.assertTrue(c.text.startswith("id,at,actor,action,object,detail,source\r\n"), c.text[:80])
        rows = list(csv.reader(io.StringIO(c.text, newline="")))
        self.assertEqual(rows[0], ["id", "at", "actor", "action", "object", "detail", "source"])
        self.assertEqual(len(rows), 1 + len(entries))
        for row, e in zip(rows[1:], entries):
            self.assertEqual(row, [e["id"], e["at"], e["actor"], e["action"], e["object"], e["detail"], e["source"]])
        self.assertIn('"', c.text.split("\r\n")[4], "the silence's quoted comment is quoted in CSV")

        filtered = s.get("/api/v1/audit?action=silence.&actor=dave&since=" + rfc3339(START))
        self.assertEqual(filtered.status, 200, filtered)
        self.assertEqual([e["action"] for e in filtered.json["entries"]], ["silence.create", "silence.expire"])
        self.assertJsonError(s.get("/api/v1/audit?since=last+tuesday"), 400, "bad since", "since")
        self.assertJsonError(s.get("/api/v1/audit?format=xlsx"), 400, "bad format", "format")
        self.assertJsonError(s.get("/api/v1/audit?colour=red"), 400, "unknown query parameter", "colour")

        # Bytes, not text: a text-mode pipe would turn the CSV's CRLF into LF.
        cli = subprocess.run([s.binary, "report", "audit", "--config", self.config_path, "--csv"],
                             capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(cli.stdout.decode(), c.text, "the CLI and the API disagree")
        table = s.cli("report", "audit", "--config", self.config_path, "--action", "silence.")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertEqual(len(table.stdout.splitlines()), 2, table.stdout)
        bad = s.cli("report", "audit", "--config", self.config_path, "--since", "soonish")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--since", bad.stderr)

        comp = s.get("/api/v1/compliance")
        self.assertEqual(comp.status, 200, comp)
        clocks = comp.json["clocks"]
        self.assertEqual(len(clocks), 1, clocks)
        self.assertEqual(clocks[0]["incident"], iid)
        self.assertEqual(clocks[0]["clock"], "regulator")
        self.assertEqual(clocks[0]["status"], "missed")
        self.assertEqual(parse_time(clocks[0]["started_at"]), confirmed)
        self.assertEqual(parse_time(clocks[0]["deadline"]), confirmed + dt.timedelta(hours=72))
        self.assertEqual(comp.json["summary"]["clocks_missed"], 1)
        self.assertEqual(comp.json["summary"]["clocks_running"], 0)
        self.assertEqual(comp.json["reviews"][0]["plan"], "system_crash")
        self.assertEqual(comp.json["reviews"][0]["due_at"], "2026-04-01T00:00:00Z")
        self.assertTrue(comp.json["reviews"][0]["due_soon"])

        cj = s.cli("report", "compliance", "--config", self.config_path, "--json")
        self.assertEqual(cj.returncode, 0, cj.stderr)
        report = json.loads(cj.stdout)
        self.assertEqual(report["clocks"][0]["status"], "missed")
        self.assertEqual(report["clocks"][0]["deadline"], clocks[0]["deadline"])
        text = s.cli("report", "compliance", "--config", self.config_path)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("1 missed", text.stdout)

        metrics = http_request("GET", s.url("/metrics")).text
        self.assertIn("tocsin_compliance_clocks_missed 1\n", metrics)


if __name__ == "__main__":
    unittest.main()
