"""Series with their bounds and firing spans, through the real binary: samples pushed for the
threshold rule HighLoad (for: 2s), a crossing that fires and a sample back under that resolves;
then GET /api/v1/rules/HighLoad/series (bounds on every point, the firing span from the alert
record), /api/v1/series, the three chart SVGs (parsed as XML), and clear 4xx errors.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_series_charts
"""

from __future__ import annotations

import time
import urllib.parse
import xml.etree.ElementTree as ET

from harness import THRESHOLD, ServerTestCase

SVG = "{http://www.w3.org/2000/svg}"


class SeriesCharts(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        now_ms = int(time.time() * 1000)
        # One sample every 10 s over the last 10 minutes: calm, then over the threshold for a
        # minute (longer than `for`), then calm again.
        cls.t0 = now_ms - 600_000
        cls.samples = []
        for i in range(60):
            ts = cls.t0 + i * 10_000
            value = 0.97 if 20 <= i < 26 else 0.4 + 0.01 * (i % 5)
            cls.samples.append({"name": "system_load", "labels": {"service": "api", "instance": "h1"},
                                "value": value, "ts": ts})
        cls.crossing_ts = cls.t0 + 20 * 10_000
        cls.back_under_ts = cls.t0 + 26 * 10_000
        r = cls.server.push(cls.samples)
        assert r.status == 200, r

    def get_svg(self, path: str) -> ET.Element:
        r = self.server.get(path)
        self.assertEqual(r.status, 200, f"GET {path}: {r!r}")
        self.assertTrue(r.headers.get("Content-Type", "").startswith("image/svg+xml"), r.headers)
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        self.assertNotIn("<script", r.text)
        root = ET.fromstring(r.text)  # well-formed XML, or this raises
        self.assertEqual(root.tag, SVG + "svg")
        self.assertTrue(root.get("viewBox"))
        self.assertIsNotNone(root.find(SVG + "title"))
        self.assertIsNotNone(root.find(SVG + "desc"))
        self.assertIn("prefers-color-scheme:dark", root.find(SVG + "style").text)
        return root

    def test_rule_series_have_bounds_and_the_firing_span(self):
        r = self.server.get("/api/v1/rules/HighLoad/series")
        self.assertEqual(r.status, 200, r)
        body = r.json
        self.assertEqual(body["rule"], "HighLoad")
        self.assertEqual(body["detector"], f"value > {THRESHOLD}")
        self.assertEqual(len(body["series"]), 1, body)
        s = body["series"][0]
        self.assertEqual(s["labels"], {"__name__": "system_load", "service": "api", "instance": "h1"})
        points = s["points"]
        self.assertEqual([p["ts"] for p in points], [x["ts"] for x in self.samples])
        for p in points:
            self.assertEqual(p["upper"], THRESHOLD, p)
            self.assertIsNone(p["lower"], p)  # open below
            self.assertEqual(p["firing"], p["value"] > THRESHOLD, p)
        # The alert fired `for` (2 s) after the crossing, at the next sample, and resolved at the
        # sample back under: the span comes from the alert record.
        self.assertEqual(len(s["firing_spans"]), 1, s["firing_spans"])
        span = s["firing_spans"][0]
        self.assertEqual(span["start"], self.crossing_ts + 10_000)
        self.assertEqual(span["end"], self.back_under_ts)

    def test_series_read(self):
        q = urllib.parse.urlencode({"match": 'system_load{instance="h1"}', "start": str(self.t0),
                                    "end": str(self.t0 + 99_000)})
        r = self.server.get(f"/api/v1/series?{q}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["truncated"], False)
        self.assertEqual(len(r.json["series"]), 1)
        self.assertEqual(r.json["series"][0]["points"],
                         [[x["ts"], x["value"]] for x in self.samples[:10]])

    def test_charts_parse_as_svg(self):
        root = self.get_svg("/api/v1/rules/HighLoad/chart.svg")
        firing = [e for e in root.iter(SVG + "rect") if e.get("class") == "firing" and e.get("height") != "9"]
        self.assertEqual(len(firing), 1, "one shaded firing span")
        self.assertTrue(any(e.get("class") == "bound" for e in root.iter(SVG + "path")), "the threshold line")
        self.get_svg("/api/v1/series/chart.svg?" + urllib.parse.urlencode({"match": "system_load"}))
        self.get_svg("/api/v1/drills/chart.svg?plan=system_crash")

    def test_bad_input(self):
        cases = [
            ("/api/v1/series", 400, "match"),
            ("/api/v1/series?" + urllib.parse.urlencode({"match": "system_load{"}), 400, "match"),
            ("/api/v1/series?match=x&start=yesterday", 400, "start"),
            ("/api/v1/series?match=x&limit=0", 400, "limit"),
            ("/api/v1/rules/NoSuchRule/series", 404, "name"),
            ("/api/v1/rules/HighLoad/chart.svg?end=soon", 400, "end"),
            ("/api/v1/drills/chart.svg?plan=nope", 404, "plan"),
        ]
        for path, status, field in cases:
            self.assertJsonError(self.server.get(path), status, f"GET {path}", field)


if __name__ == "__main__":
    import unittest
    unittest.main()
