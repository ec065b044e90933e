"""`tocsin drill run` on the scenarios `tocsin init` writes: each runs through the real pipeline on a
simulated clock and meets its expectations (text and --json), the JSON is byte-identical across
runs, each run is recorded in the config's store (and compared with the earlier ones; the API
serves them), --no-record leaves the data_dir alone, and a bad scenario is one file:line error on
stderr with exit 1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Tocsin, free_port, http_json, tocsin_bin

SCENARIOS = ["system_crash", "data_breach", "network_attack"]


class Drills(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-e2e-drill-")
        r = subprocess.run([tocsin_bin(), "init", self.dir], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("scenarios/", r.stdout)
        self.config = os.path.join(self.dir, "tocsin.yaml")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def drill(self, scenario: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([tocsin_bin(), "drill", "run", scenario, "--config", self.config, *extra],
                              capture_output=True, text=True, timeout=60)

    def scenario(self, name: str) -> str:
        return os.path.join(self.dir, "scenarios", f"{name}.yaml")

    def test_shipped_scenarios_meet_their_expectations_as_text(self):
        for name in SCENARIOS:
            with self.subTest(name):
                r = self.drill(self.scenario(name))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"Drill {name.replace('_', '-')} — plan {name}", r.stdout)
                self.assertRegex(r.stdout, r"Expectations \((\d) of \1 met\)")
                self.assertNotIn("FAIL", r.stdout)
                self.assertRegex(r.stdout, r"score \d+/100")
                # The speed goes to stderr, so stdout stays the scorecard alone.
                self.assertRegex(r.stderr, r"simulated hours per second")

    def serve(self) -> Tocsin:
        port = free_port()
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("127.0.0.1:8470", f"127.0.0.1:{port}"))
        server = Tocsin(self.config, port)
        server.start()
        self.addCleanup(server.stop)
        return server

    def test_the_api_runs_a_plans_drill_and_records_it(self):
        server = self.serve()
        url = server.base + "/api/v1/drills/run"
        r = http_json("POST", url, payload={"plan": "network_attack", "seed": 5})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json["mode"], "simulated")
        self.assertEqual(r.json["plan"], "network_attack")
        self.assertEqual(r.json["seed"], 5)
        card = r.json["scorecard"]
        self.assertEqual(card["plan"], "network_attack")
        self.assertEqual(card["expectations_met"], len(card["expectations"]), card["expectations"])
        # The same run as the CLI's, byte for byte in its scorecard.
        cli = self.drill(self.scenario("network_attack"), "--json", "--seed", "5", "--no-record")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(card, json.loads(cli.stdout))
        listed = http_json("GET", server.base + "/api/v1/drills?plan=network_attack").json
        self.assertEqual([d["id"] for d in listed["drills"]], [r.json["id"]])
        self.assertFalse({c["plan"]: c for c in listed["calendar"]}["network_attack"]["overdue"])
        # The server's own incidents are untouched: the drill ran on its own store.
        self.assertEqual(http_json("GET", server.base + "/api/v1/incidents").json["incidents"], [])

        bad = [({"plan": "nope"}, 400, "plan"), ({}, 400, "plan"), ({"plan": "network_attack", "speed": 2}, 400, "speed"),
               ({"plan": "network_attack", "seed": -1}, 400, "seed")]
        for payload, status, field in bad:
            with self.subTest(payload):
                b = http_json("POST", url, payload=payload)
                self.assertEqual(b.status, status, b.text)
                self.assertEqual(b.json["field"], field, b.text)
        self.assertEqual(http_json("GET", url).status, 405)
        self.assertEqual(len(http_json("GET", server.base + "/api/v1/drills").json["drills"]), 1)

    def test_no_record_leaves_the_data_dir_alone(self):
        r = self.drill(self.scenario("system_crash"), "--no-record")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("recorded as run", r.stderr)
        # The drill itself runs on its own temporary store, never in the config's data_dir.
        self.assertFalse(os.path.exists(os.path.join(self.dir, "tocsin-data")))

    def test_runs_are_recorded_compared_and_served_by_the_api(self):
        first = self.drill(self.scenario("system_crash"))
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertRegex(first.stderr, r"recorded as run #1 in .*tocsin-data/tocsin\.db")
        self.assertNotIn("Compared with earlier runs", first.stdout)  # nothing to compare with yet
        second = self.drill(self.scenario("system_crash"), "--seed", "8")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertRegex(second.stderr, r"recorded as run #2 ")
        self.assertIn("Compared with earlier runs of system-crash", second.stdout)
        self.assertRegex(second.stdout, r"score +\d+ vs \d+ in run #1")
        self.assertRegex(second.stdout, r"#1 +\d{4}-\d\d-\d\dT[\d:]+Z +simulated +7 +\d+")
        # JSON stays the scorecard alone (the run is still recorded).
        j = self.drill(self.scenario("system_crash"), "--json")
        self.assertEqual(j.returncode, 0, j.stderr)
        self.assertRegex(j.stderr, r"recorded as run #3 ")
        self.assertNotIn("earlier", json.loads(j.stdout))

        # The server over the same config lists the runs, and the plan's drill is no longer due.
        server = self.serve()
        r = http_json("GET", server.base + "/api/v1/drills?scenario=system-crash")
        self.assertEqual(r.status, 200, r.text)
        runs = r.json["drills"]
        self.assertEqual([d["id"] for d in runs], ["3", "2", "1"])
        self.assertEqual({d["mode"] for d in runs}, {"simulated"})
        self.assertEqual([d["seed"] for d in runs], [7, 8, 7])
        self.assertTrue(all(d["plan"] == "system_crash" for d in runs))
        calendar = {c["plan"]: c for c in r.json["calendar"]}
        self.assertFalse(calendar["system_crash"]["overdue"], calendar)
        self.assertTrue(calendar["data_breach"]["overdue"], calendar)  # never drilled
        one = http_json("GET", server.base + "/api/v1/drills/1").json
        self.assertEqual(one["scorecard"]["scenario"], "system-crash")
        self.assertEqual(one["scorecard"]["score"], runs[2]["score"])

    def test_json_is_complete_and_byte_identical(self):
        for name in SCENARIOS:
            with self.subTest(name):
                a = self.drill(self.scenario(name), "--json")
                b = self.drill(self.scenario(name), "--json")
                self.assertEqual(a.returncode, 0, a.stderr)
                self.assertEqual(a.stdout, b.stdout)
                card = json.loads(a.stdout)
                self.assertEqual(card["plan"], name)
                self.assertTrue(card["expectations"])
                self.assertTrue(all(e["met"] for e in card["expectations"]), card["expectations"])
                self.assertGreaterEqual(card["score"], 90)
                self.assertIsNotNone(card["time_to_detect_seconds"])
                self.assertIsNotNone(card["time_to_acknowledge_seconds"])
                self.assertEqual(list(card)[:3], ["scenario", "plan", "seed"])
        other = self.drill(self.scenario("system_crash"), "--json", "--seed", "99")
        self.assertEqual(other.returncode, 0, other.stderr)
        self.assertEqual(json.loads(other.stdout)["seed"], 99)
        self.assertNotEqual(other.stdout, self.drill(self.scenario("system_crash"), "--json").stdout)

    def test_a_step_nobody_does_is_a_finding_with_a_recommendation(self):
        path = self.scenario("system_crash")
        with open(path) as f:
            text = f.read()
        self.assertIn("triage: {min: 6m, max: 10m}", text)
        with open(path, "w") as f:
            f.write(text.replace("triage: {min: 6m, max: 10m}", "triage: never"))
        r = self.drill(path, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)  # it ran: exit 0 even with expectations unmet
        card = json.loads(r.stdout)
        kinds = {(f["kind"], f["step"]) for f in card["findings"]}
        self.assertIn(("never_step", "triage"), kinds)
        self.assertTrue(any(t["who"] == "role:operations" for t in card["training_plan"]), card["training_plan"])
        self.assertFalse(all(e["met"] for e in card["expectations"]))

    def test_bad_scenario_is_one_line_with_file_and_line(self):
        bad = os.path.join(self.dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("name: bad\nplan: system_crash\nstart: 2026-03-03T09:30:00Z\nduration: 1h\ncolour: red\n")
        r = self.drill(bad)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"bad\.yaml:5: colour: unknown key \"colour\"")

        with open(bad, "w") as f:
            f.write("name: bad\nplan: flood\nstart: 2026-03-03T09:30:00Z\nduration: 1h\nfaults:\n"
                    "  - {kind: absent, series: y, at: 5m, duration: 1m}\nseries: [{name: x, base: 1}]\n")
        r = self.drill(bad)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.strip(), r"^.*bad\.yaml:6: faults\[0\]\.series: unknown series \"y\"")

        with open(bad, "w") as f:
            f.write("name: bad\nplan: flood\nstart: 2026-03-03T09:30:00Z\nduration: 1h\n"
                    "series: [{name: x, base: 1}]\nfaults:\n  - {kind: absent, series: x, at: 5m, duration: 1m}\n")
        r = self.drill(bad)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.strip(), r"^.*bad\.yaml:2: plan: unknown plan \"flood\"")

        r = self.drill(os.path.join(self.dir, "missing.yaml"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.yaml", r.stderr)

    def test_help(self):
        r = subprocess.run([tocsin_bin(), "drill", "run", "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for word in ("SCENARIO", "--config", "--json", "--seed"):
            self.assertIn(word, r.stdout)


if __name__ == "__main__":
    unittest.main()
