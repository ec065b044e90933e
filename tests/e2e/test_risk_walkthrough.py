"""docs/risk.md's walk-through, end to end through the real binary: the example CSV of past
incidents → `tocsin risk train` (imputing every feature, so live risk may feed only some) → a
register entry whose likelihood comes from that model run live on three indicators → pushed
indicator values → the likelihood in GET /api/v1/risk, a RiskLikely alert, and the crash plan's
incident opened before any failure.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_risk_walkthrough
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from harness import LogsOnFailure, Tocsin, free_port, tocsin_bin, wait_until, write_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "docs", "examples")

RISKS = """\
risks:
  - id: severe-incident
    title: A critical incident on the API
    likelihood_from:
      model: models/severity.json
      class: critical
      data: incidents-2026q1.csv
      indicators:
        error_rate: 'error_rate{service="api"}'
        p99_latency_ms: 'p99_latency_ms{service="api"}'
        failed_logins: 'failed_logins{service="api"}'
      every: 1s
      alert_above: 0.7
      labels: {incident_type: system_crash}
    impact: 5
    owner: alice
    plan: system_crash
    review: 2027-03-01
"""


class RiskWalkthrough(LogsOnFailure):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-risk-walkthrough-")
        for name in ("incidents-2025.csv", "incidents-2026q1.csv"):
            shutil.copy(os.path.join(EXAMPLES, name), cls.tmp)
        os.makedirs(os.path.join(cls.tmp, "models"))
        p = subprocess.run([tocsin_bin(), "risk", "train", "--data", "incidents-2025.csv", "--label", "severity",
                            "--missing", "median", "--impute", "service=mode", "--drop-duplicates",
                            "--out", "models/severity.json"], capture_output=True, text=True, cwd=cls.tmp, timeout=60)
        if p.returncode != 0:
            raise AssertionError(p.stderr)
        cls.train_output = p.stdout
        cls.port = free_port()
        path = write_config(cls.tmp, cls.port, "http://127.0.0.1:9")
        with open(path, "a") as f:
            f.write(RISKS)
        cls.server = Tocsin(path, cls.port)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def push(self, error_rate: float, p99: float, failed_logins: float):
        r = self.server.push([{"name": n, "labels": {"service": "api"}, "value": v} for n, v in
                              (("error_rate", error_rate), ("p99_latency_ms", p99), ("failed_logins", failed_logins))])
        self.assertEqual(r.status, 200, r)

    def likelihood(self):
        [risk] = self.server.get("/api/v1/risk").json["risks"]
        return risk

    def test_from_past_incidents_to_a_live_risk_alert(self):
        self.assertIn("trained mixed_nb on 300 rows", self.train_output)
        # Before any indicator has a sample, the model has nothing to say.
        self.assertIsNone(self.likelihood()["likelihood"])
        # A calm API: the model gives a critical incident next to no chance; nothing opens.
        self.push(0.3, 200, 1)
        calm = wait_until(lambda: self.likelihood() if self.likelihood()["likelihood"] is not None else None,
                          timeout=10, what="a likelihood from the live model")
        self.assertIsNotNone(calm, "the live model never ran")
        self.assertLess(calm["likelihood"], 0.01)
        self.assertEqual(calm["level"], "low")
        self.assertEqual(self.server.incidents(), [])
        # Errors, latency and failed logins like the worst past incidents: likely critical, above
        # alert_above; the RiskLikely warning opens the crash plan's incident.
        self.push(5.8, 870, 18)
        incidents = wait_until(lambda: self.server.incidents(), timeout=10, what="the crash incident")
        self.assertIsNotNone(incidents, "no incident opened")
        risk = self.likelihood()
        self.assertGreater(risk["likelihood"], 0.7)
        self.assertEqual(risk["level"], "critical")
        [incident] = incidents
        self.assertEqual(incident["plan"], "system_crash")
        [alert] = incident["alerts"]
        self.assertEqual(alert["labels"]["alertname"], "RiskLikely")
        self.assertEqual(alert["labels"]["risk"], "severe-incident")
        self.assertEqual(alert["labels"]["severity"], "warning")
        # And the model behind it can be looked at, from the server.
        r = self.server.get("/api/v1/risk/models/severity")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["live"])


if __name__ == "__main__":
    import unittest
    unittest.main()
