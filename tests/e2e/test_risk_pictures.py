"""The risk model's pictures from the API, through the real binary: a model trained with
`tocsin risk train` on the example incidents, named by a risk in tocsin.yaml with its data; the
model list, the decision regions and confusion matrix from that data (the confusion matrix counts
the same as `tocsin risk eval --plot` on that file), a POSTed CSV, and clear 4xx errors.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_risk_pictures
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from harness import LogsOnFailure, Tocsin, free_port, http_request, tocsin_bin, write_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "docs", "examples")
SVG = "{http://www.w3.org/2000/svg}"


def risk(*args: str, cwd: str) -> subprocess.CompletedProcess:
    p = subprocess.run([tocsin_bin(), "risk", *args], capture_output=True, text=True, timeout=60, cwd=cwd)
    if p.returncode != 0:
        raise AssertionError(f"tocsin risk {' '.join(args)} failed: {p.stderr}")
    return p


class RiskPictures(LogsOnFailure):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-risk-pictures-")
        for name in ("incidents-2025.csv", "incidents-2026q1.csv"):
            shutil.copy(os.path.join(EXAMPLES, name), cls.tmp)
        os.makedirs(os.path.join(cls.tmp, "models"))
        # The model and the CLI's own pictures of it, to compare with the API's.
        risk("train", "--data", "incidents-2025.csv", "--label", "severity", "--impute", "error_rate=median",
             "--drop-duplicates", "--out", "models/severity.json", cwd=cls.tmp)
        cls.eval_text = risk("eval", "--model", "models/severity.json", "--data", "incidents-2026q1.csv",
                             "--label", "severity", "--plot", "cli-confusion.svg", cwd=cls.tmp).stdout
        cls.port = free_port()
        path = write_config(cls.tmp, cls.port, "http://127.0.0.1:9")
        with open(path, "a") as f:
            f.write("""\
risks:
  - id: severe-incident
    title: A critical incident next quarter
    likelihood_from: {model: models/severity.json, class: critical, data: incidents-2026q1.csv}
    impact: 5
    owner: alice
    plan: system_crash
    review: 2027-03-01
""")
        cls.server = Tocsin(path, cls.port)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path: str):
        return http_request("GET", self.server.url(path))

    def post_csv(self, path: str, csv: str):
        return http_request("POST", self.server.url(path), csv.encode(), {"Content-Type": "text/csv"})

    def test_model_list(self):
        r = self.get("/api/v1/risk/models")
        self.assertEqual(r.status, 200, r)
        [model] = r.json["models"]
        self.assertEqual(model["name"], "severity")
        self.assertEqual(model["risks"], ["severe-incident"])
        self.assertEqual(model["kind"], "mixed_nb")
        self.assertEqual(model["classes"], ["critical", "high", "low"])
        self.assertEqual([f["name"] for f in model["features"]],
                         ["service", "hour", "error_rate", "p99_latency_ms", "failed_logins", "deploys_24h"])
        self.assertTrue(model["data"].endswith("incidents-2026q1.csv"))
        self.assertEqual(self.get("/api/v1/risk/models/severity").json, model)

    def test_regions(self):
        r = self.get("/api/v1/risk/models/severity/regions.svg?x=error_rate&y=failed_logins")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("image/svg+xml"), r.headers)
        root = ET.fromstring(r.text)
        self.assertEqual(root.tag, SVG + "svg")
        dots = [c for c in root.iter(SVG + "circle") if c.get("data-class")]
        self.assertEqual(len(dots), 100)  # every row of incidents-2026q1.csv has both features
        regions = {e.get("data-class") for e in root.iter(SVG + "rect") if e.get("class") == "region"}
        self.assertLessEqual(regions, {"critical", "high", "low"})
        self.assertGreaterEqual(len(regions), 2)
        self.assertIn("failed_logins vs error_rate", r.text)
        # Without x and y: the model's first two numeric features, hour and error_rate.
        default = self.get("/api/v1/risk/models/severity/regions.svg")
        self.assertEqual(default.status, 200)
        self.assertIn("error_rate vs hour", default.text)

    def test_confusion_matches_risk_eval(self):
        r = self.get("/api/v1/risk/models/severity/confusion.svg")
        self.assertEqual(r.status, 200, r)
        accuracy = re.search(r"accuracy (\d\.\d+) \((\d+)/(\d+)\)", self.eval_text)
        self.assertIsNotNone(accuracy, self.eval_text)
        self.assertIn(f"severity on incidents-2026q1.csv: accuracy {float(accuracy.group(1)):.3f} "
                      f"({accuracy.group(2)} of {accuracy.group(3)})", r.text)
        root = ET.fromstring(r.text)
        api_counts = [t.text for t in root.iter(SVG + "text") if t.get("class") == "count"]
        with open(os.path.join(self.tmp, "cli-confusion.svg")) as f:
            cli_root = ET.fromstring(f.read())
        cli_counts = [t.text for t in cli_root.iter(SVG + "text") if t.get("class") == "count"]
        self.assertEqual(api_counts, cli_counts)
        self.assertEqual(sum(int(c) for c in api_counts), 100)

    def test_posted_csv(self):
        with open(os.path.join(self.tmp, "incidents-2025.csv")) as f:
            lines = f.read().splitlines()
        csv = "\n".join(lines[:31]) + "\n"  # the header and 30 incidents
        r = self.post_csv("/api/v1/risk/models/severity/confusion.svg", csv)
        self.assertEqual(r.status, 200, r)
        self.assertIn("severity on the posted data", r.text)
        counts = [t.text for t in ET.fromstring(r.text).iter(SVG + "text") if t.get("class") == "count"]
        self.assertEqual(sum(int(c) for c in counts), 30)
        r = self.post_csv("/api/v1/risk/models/severity/regions.svg?x=error_rate&y=p99_latency_ms", csv)
        self.assertEqual(r.status, 200, r)

    def test_errors(self):
        for method, path, body, status, message in [
            ("GET", "/api/v1/risk/models/nope/regions.svg", None, 404, 'no risk model "nope" (models: severity)'),
            ("GET", "/api/v1/risk/models/severity/regions.svg?x=error_rate&y=latency", None, 400,
             'unknown feature "latency"'),
            ("GET", "/api/v1/risk/models/severity/regions.svg?x=service&y=hour", None, 400,
             'feature "service" is categorical'),
            ("POST", "/api/v1/risk/models/severity/confusion.svg", "service,hour\napi,3,4\n", 400,
             "body:2: 3 fields, but the header has 2 columns"),
            ("POST", "/api/v1/risk/models/severity/confusion.svg",
             "service,hour,error_rate,p99_latency_ms,failed_logins,deploys_24h,severity\napi,3,high,1,1,1,low\n", 400,
             "body:2: column 'error_rate': 'high' is not a number"),
            ("DELETE", "/api/v1/risk/models/severity/confusion.svg", None, 405, "use GET, or POST a CSV"),
        ]:
            r = http_request(method, self.server.url(path), body.encode() if body is not None else None)
            self.assertEqual(r.status, status, (method, path, r))
            self.assertIn(message, r.json["error"], r)


if __name__ == "__main__":
    import unittest
    unittest.main()
