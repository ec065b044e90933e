"""KPIs (issue 8, item 2; docs/kpi.md) end to end on the real binary with a simulated clock.

Three incidents opened by alerts, acknowledged and resolved through the API, at known simulated
times (START = Monday 2026-03-02 08:00 UTC; the rules' `for` is 2 s):

  A  HighLoad api/h1  opened S+2s        acked S+4m3s (241 s)  activate done on time  resolved S+1h4m3s (3841 s)
  B  DiskFull db/d1   opened S+1h4m5s    its alert resolves and fires again (flapping), level 2 pages
                                         carol at +10m, acked S+1h15m10s (665 s)
  C  HighLoad api/h2  opened S+1h15m12s  level 2 at +10m, never acknowledged
  then 3 hours pass (every step is due), two drill runs are recorded (70 passed, 90 failed), and
  one more second passes. Then (test_silenced_share_of_alert_firings) a silence and four alerts
through the Alertmanager API: one of the four firings is silenced.

GET /api/v1/kpi must give the numbers worked out here by hand, `tocsin report kpi --json` (same
store, same window) the same document, the text table the same numbers humanised, and /metrics
the gauges. Bad parameters are 400s naming them, and bad CLI options one line on stderr.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_kpi
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unittest
import urllib.parse

from harness import ServerTestCase, parse_time, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)

DISK_RULE = """\
  - name: DiskFull
    select: 'disk_used{service="db"}'
    detector: {kind: threshold, above: 0.9}
    for: 2s
    severity: major
    labels: {incident_type: system_crash}
"""


class KpiTest(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]
    extra_rules = DISK_RULE

    def push(self, name: str, labels: dict, value: float):
        r = self.server.push([{"name": name, "labels": labels, "value": value}])
        self.assertEqual(r.status, 200, r)

    def kpi(self, **params) -> dict:
        r = self.server.get("/api/v1/kpi?" + urllib.parse.urlencode(params))
        self.assertEqual(r.status, 200, r)
        return r.json

    def record_drill(self, score: float, passed: bool):
        r = self.server.post("/api/v1/drills", {
            "scenario": "System crash", "plan": "system_crash", "mode": "simulated",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T01:00:00Z",
            "score": score, "passed": passed, "scorecard": {}})
        self.assertEqual(r.status, 201, r)

    def test_kpis_from_a_driven_history(self):
        s = self.server
        # A
        self.push("system_load", {"service": "api", "instance": "h1"}, 0.97)
        self.advance("3s")
        [a] = s.incidents()
        self.assertEqual(parse_time(a["opened_at"]), START + dt.timedelta(seconds=2))
        self.advance("4m")
        self.act(f"/api/v1/incidents/{a['id']}/ack", {"actor": "alice"})
        self.act(f"/api/v1/incidents/{a['id']}/tasks/activate/done", {"actor": "alice"})
        self.advance("1h")
        self.act(f"/api/v1/incidents/{a['id']}/resolve", {"actor": "alice"})
        # B, whose alert resolves and fires again inside it
        self.push("disk_used", {"service": "db", "instance": "d1"}, 0.95)
        self.advance("3s")
        self.push("disk_used", {"service": "db", "instance": "d1"}, 0.1)
        self.advance("1s")
        self.push("disk_used", {"service": "db", "instance": "d1"}, 0.95)
        self.advance("3s")
        self.advance("11m")
        b = next(i for i in s.incidents() if i["alerts"][0]["labels"].get("service") == "db")
        self.act(f"/api/v1/incidents/{b['id']}/ack", {"actor": "carol"})
        # C
        self.push("system_load", {"service": "api", "instance": "h2"}, 0.97)
        self.advance("3s")
        self.advance("11m")
        now = self.advance("3h")
        self.record_drill(70, True)
        self.record_drill(90, False)
        # The window is [since, until): what happened at `until` itself (now, on a clock standing
        # still) counts from the next instant on.
        self.assertEqual(self.kpi()["drills"]["runs"], 0)
        now = self.advance("1s")

        incidents = {i["id"]: i for i in s.incidents()}
        self.assertEqual(len(incidents), 3, incidents)
        a, b = incidents[a["id"]], incidents[b["id"]]
        [c] = [i for k, i in incidents.items() if k not in (a["id"], b["id"])]
        opened = {k: parse_time(i["opened_at"]) for k, i in incidents.items()}
        self.assertEqual(opened[b["id"]], START + dt.timedelta(hours=1, minutes=4, seconds=5))
        self.assertEqual(opened[c["id"]], START + dt.timedelta(hours=1, minutes=15, seconds=12))
        # The facts the numbers come from, checked against the records.
        self.assertEqual(parse_time(a["acknowledged_at"]) - opened[a["id"]], dt.timedelta(seconds=241))
        self.assertEqual(parse_time(a["resolved_at"]) - opened[a["id"]], dt.timedelta(seconds=3841))
        self.assertEqual(parse_time(b["acknowledged_at"]) - opened[b["id"]], dt.timedelta(seconds=665))
        kinds_b = [e["kind"] for e in b["timeline"]]
        self.assertIn("alert_resolved", kinds_b)
        self.assertEqual(kinds_b.count("alert_added"), 1, b["timeline"])  # the same alert, fired again
        for inc in (b, c):
            self.assertTrue(any(e["kind"] == "escalated" and e["detail"].startswith("level 2 (pass 1)")
                                for e in inc["timeline"]), inc["timeline"])
        self.assertFalse(any(e["kind"] == "escalated" and e["detail"].startswith("level 2")
                             for e in a["timeline"]), a["timeline"])

        doc = self.kpi(since=rfc3339(START), by="service", period="day")
        self.assertEqual(doc["since"], rfc3339(START))
        self.assertEqual(doc["until"], rfc3339(now))  # the server's simulated clock
        self.assertEqual((doc["by"], doc["period"]), ("service", "day"))
        k = doc["overall"]
        self.assertEqual(k["incidents"], 3)
        self.assertEqual(k["acknowledged"], 2)                   # A, B
        self.assertEqual(k["resolved"], 1)                       # A
        self.assertEqual(k["mtta_seconds"], (241 + 665) / 2)     # 453
        self.assertEqual(k["mtta_p90_seconds"], 665)             # nearest rank: 2nd of 2
        self.assertEqual(k["mttr_seconds"], 3841)
        self.assertEqual(k["mttr_p90_seconds"], 3841)
        self.assertEqual(k["mtbf_seconds"], (4512 - 2) / 2)      # S+2s … S+1h15m12s over 2 gaps: 2255
        self.assertAlmostEqual(k["resolution_ratio"], 1 / 3)
        # Due steps (all 9 are due by now): only A's activate was done, on time.
        self.assertAlmostEqual(k["on_time_step_ratio"], 1 / 9)
        self.assertAlmostEqual(k["escalation_rate"], 2 / 3)      # B and C reached level 2
        self.assertEqual(k["alerts_per_incident"], 1.0)
        self.assertEqual(k["flapping_alerts"], 1)                # B's d1
        # Alert firings: A's h1, B's d1 twice (it fired again), C's h2; no silence: 0 silenced.
        self.assertEqual(k["alert_firings"], 4)
        self.assertEqual(k["silenced_share"], 0)
        groups = {g["key"]: g["kpi"] for g in doc["groups"]}
        self.assertEqual(sorted(groups), ["api", "db"])
        self.assertEqual(groups["api"]["incidents"], 2)          # A, C
        self.assertEqual(groups["api"]["mtta_seconds"], 241)
        self.assertEqual(groups["api"]["mtbf_seconds"], 4510)
        self.assertEqual(groups["db"]["incidents"], 1)
        self.assertEqual(groups["db"]["mtta_seconds"], 665)
        self.assertIsNone(groups["db"]["mttr_seconds"])
        self.assertIsNone(groups["db"]["mtbf_seconds"])
        self.assertEqual(len(doc["trend"]), 1)  # S to now is within one UTC day
        self.assertEqual(doc["trend"][0]["kpi"], k)
        drills = doc["drills"]
        self.assertEqual((drills["runs"], drills["mean_score"], drills["passed_share"]), (2, 80, 0.5))
        self.assertEqual(drills["by_plan"], [{"plan": "system_crash", "runs": 2, "mean_score": 80, "last_score": 90}])

        # The CLI reads the same store: the same document for the same window.
        until = rfc3339(now)
        cli = s.cli("report", "kpi", "--config", self.config_path, "--since", rfc3339(START), "--until", until,
                    "--by", "service", "--period", "day", "--json")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        api = self.kpi(since=rfc3339(START), until=until, by="service", period="day")
        self.assertEqual(json.loads(cli.stdout), api)
        self.assertEqual(api["overall"], k)
        text = s.cli("report", "kpi", "--config", self.config_path, "--since", rfc3339(START), "--until", until,
                     "--by", "plan")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertRegex(text.stdout, r"\nMTTA +7m33s +7m33s\n")        # 453 s, overall and system_crash
        self.assertRegex(text.stdout, r"\nMTTR +1h4m1s +1h4m1s\n")
        self.assertRegex(text.stdout, r"\nescalated +66\.7% +66\.7%\n")
        self.assertIn("Drills: 2 runs, mean score 80.0, 50.0% passed", text.stdout)

        # Weekly trend over two weeks: this week's bucket, and an empty one before it.
        weekly = self.kpi(since="2026-02-23T00:00:00Z", period="week")
        self.assertEqual([b["start"] for b in weekly["trend"]], ["2026-02-23T00:00:00Z", "2026-03-02T00:00:00Z"])
        self.assertEqual(weekly["trend"][0]["kpi"]["incidents"], 0)
        self.assertIsNone(weekly["trend"][0]["kpi"]["mtta_seconds"])
        self.assertEqual(weekly["trend"][1]["kpi"]["incidents"], 3)

        # /metrics: the last 30 days of the server's clock, overall and per plan.
        m = s.get("/metrics").text
        self.assertIn("\ntocsin_kpi_incidents 3\n", m)
        self.assertIn('\ntocsin_kpi_incidents{plan="system_crash"} 3\n', m)
        self.assertIn('\ntocsin_kpi_mtta_seconds{plan="system_crash"} 453\n', m)
        self.assertIn("\ntocsin_kpi_mttr_seconds 3841\n", m)
        self.assertIn("\ntocsin_kpi_flapping_alerts 1\n", m)
        self.assertIn('\ntocsin_kpi_drill_mean_score{plan="system_crash"} 80\n', m)
        self.assertRegex(m, r"\ntocsin_kpi_compute_seconds [0-9.e-]+\n")

    def test_silenced_share_of_alert_firings(self):
        """A silence made through /api/v2/silences, then alerts pushed through /api/v2/alerts: of
        the four that start firing one is silenced (0.25); a re-send counts nothing again."""
        s = self.server
        t0 = self.advance("1s")
        start = rfc3339(t0)
        r = s.post("/api/v2/silences", {
            "matchers": [{"name": "alertname", "value": "NoiseQuiet", "isRegex": False, "isEqual": True}],
            "startsAt": start, "endsAt": rfc3339(t0 + dt.timedelta(hours=1)), "createdBy": "alice",
            "comment": "known noise"})
        self.assertEqual(r.status, 200, r)
        batch = [{"labels": {"alertname": name, "service": "noise", "severity": "warning"}, "startsAt": start}
                 for name in ("NoiseQuiet", "NoiseLoud1", "NoiseLoud2", "NoiseLoud3")]
        for _ in range(2):  # the second is a Prometheus-style re-send: nothing new starts firing
            r = s.post("/api/v2/alerts", batch)
            self.assertEqual(r.status, 200, r)
            self.advance("1s")
        silenced = [a["labels"]["alertname"] for a in s.get("/api/v2/alerts?silenced=true&active=false").json
                    if a["labels"].get("service") == "noise"]
        self.assertEqual(silenced, ["NoiseQuiet"])
        doc = self.kpi(since=start, by="service", period="day")
        noise = {g["key"]: g["kpi"] for g in doc["groups"]}["noise"]
        self.assertEqual(noise["alert_firings"], 4)
        self.assertEqual(noise["silenced_share"], 0.25)
        self.assertEqual(noise["inhibited_share"], 0)
        self.assertEqual(noise["incidents"], 0)  # no plan matches: firings, but no incident
        self.assertGreaterEqual(doc["overall"]["alert_firings"], 4)
        m = s.get("/metrics").text
        self.assertRegex(m, r"\ntocsin_kpi_silenced_share [0-9.e-]+\n")

    def test_bad_parameters(self):
        s = self.server
        for query, field in [("since=last+week", "since"), ("until=tomorrow", "until"), ("by=team", "by"),
                             ("period=quarter", "period"), ("limit=5", "limit"),
                             ("since=2099-01-01T00:00:00Z", "since"), ("since=10y&period=day", "period")]:
            r = s.get("/api/v1/kpi?" + query)
            self.assertJsonError(r, 400, query, field)
        r = s.post("/api/v1/kpi", {})
        self.assertEqual(r.status, 405, r)
        bad = s.cli("report", "kpi", "--config", self.config_path, "--by", "team")
        self.assertEqual(bad.returncode, 1, bad)
        self.assertEqual(bad.stdout, "")
        self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
        self.assertIn("--by: bad by \"team\": expected plan, service or severity", bad.stderr)
        missing = s.cli("report", "kpi", "--config", self.config_path + ".nope")
        self.assertEqual(missing.returncode, 1, missing)
        self.assertEqual(len(missing.stderr.strip().splitlines()), 1, missing.stderr)


if __name__ == "__main__":
    unittest.main()
