"""Differential tests against real Alertmanager (the CI version of alertmanager_diff.py).

Every scenario under scenarios/ runs on Alertmanager and on tocsin at once (one test per
scenario; all scenarios run concurrently in setUpClass, about 20 s in total). The notifications
must agree per (receiver, groupKey) in content and order, and in arrival time within 0.6 s.
Skipped when prometheus-alertmanager is not installed ($ALERTMANAGER_BIN overrides the path).

DiffLogicTest checks the harness itself (comparison, matchers, config writers) without servers.
Set TOCSIN_AMDIFF_SELFCHECK=1 to also run every scenario Alertmanager against Alertmanager.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_alertmanager_diff
"""

from __future__ import annotations

import os
import unittest

import alertmanager_diff as amd

AM_BIN = amd.alertmanager_bin()
NO_AM = "prometheus-alertmanager is not installed (set ALERTMANAGER_BIN)"


class _ScenarioSuite(unittest.TestCase):
    """Runs every scenario on `targets` in setUpClass; test_<scenario> checks one result."""

    targets: list[str] = []
    results: dict[str, amd.ScenarioResult] = {}

    @classmethod
    def setUpClass(cls):
        scenarios = [amd.load_scenario(n) for n in amd.scenario_names()]
        cls.results = {r.scenario.name: r for r in amd.run_all(scenarios, cls.targets)}

    def check(self, name: str):
        res = self.results[name]
        if not res.ok:
            self.fail("\n" + res.report())


def _add_scenario_tests(cls):
    for name in amd.scenario_names():
        def test(self, name=name):
            self.check(name)
        test.__name__ = f"test_{name}"
        test.__doc__ = f"scenario {name}"
        setattr(cls, test.__name__, test)
    return cls


@unittest.skipUnless(AM_BIN, NO_AM)
@_add_scenario_tests
class AlertmanagerDiffTest(_ScenarioSuite):
    targets = ["am", "tocsin"]


@unittest.skipUnless(AM_BIN, NO_AM)
@unittest.skipUnless(os.environ.get("TOCSIN_AMDIFF_SELFCHECK"), "set TOCSIN_AMDIFF_SELFCHECK=1 to run am vs am")
@_add_scenario_tests
class AlertmanagerSelfCheck(_ScenarioSuite):
    targets = ["am", "am"]


def _n(at, status="firing", alerts=(("alertname=A,instance=1", "firing"),), receiver="r", key="{}:{alertname=\"A\"}"):
    return amd.Notification(at=at, receiver=receiver, group_key=key, status=status, alerts=tuple(sorted(alerts)),
                            details={}, body=None)


class DiffLogicTest(unittest.TestCase):
    """The harness's own logic, no servers."""

    def test_equal_within_tolerance(self):
        self.assertEqual(amd.compare([_n(1.0), _n(3.0)], [_n(1.3), _n(2.6)], ("a", "b"), 0.6), [])

    def test_late_notification(self):
        problems = amd.compare([_n(1.0)], [_n(2.0)], ("a", "b"), 0.6)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("arrival differs by +1.00s", problems[0])

    def test_content_and_missing(self):
        left = [_n(1.0), _n(3.0, "resolved", (("alertname=A,instance=1", "resolved"),))]
        right = [_n(1.0)]
        problems = amd.compare(left, right, ("am", "tocsin"), 0.6)
        self.assertIn("missing on tocsin", problems[0])
        self.assertIn("global count: 2 notifications on am, 1 on tocsin", problems[-1])
        problems = amd.compare([_n(1.0)], [_n(1.0, alerts=(("alertname=A,instance=2", "firing"),))],
                               ("am", "tocsin"), 0.6)
        self.assertIn("content differs", problems[0])

    def test_order_is_per_group(self):
        # Different groups may interleave differently; each group's own sequence must match.
        a1, b1 = _n(1.0, key="{}:{alertname=\"A\"}"), _n(1.0, key="{}:{alertname=\"B\"}")
        self.assertEqual(amd.compare([a1, b1], [b1, a1], ("a", "b"), 0.6), [])

    def test_expectations(self):
        exp = [{"at": 1, "receiver": "r", "groupKey": "{}:{alertname=\"A\"}", "status": "firing",
                "alerts": ["alertname=A,instance=1:firing"]}]
        self.assertEqual(amd.check_expectations([_n(1.1)], exp, "am"), [])
        self.assertTrue(amd.check_expectations([_n(1.1), _n(2.0)], exp, "am"))

    def test_matchers(self):
        self.assertEqual(amd.parse_matcher('severity="critical"'),
                         {"name": "severity", "value": "critical", "isRegex": False, "isEqual": True})
        self.assertEqual(amd.parse_matcher('instance!~"h1|h\\"2"'),
                         {"name": "instance", "value": 'h1|h"2', "isRegex": True, "isEqual": False})
        with self.assertRaises(amd.ScenarioError):
            amd.parse_matcher("severity=critical")

    def test_timestamps(self):
        self.assertIsNone(amd.parse_rfc3339("0001-01-01T00:00:00Z"))
        t = amd.parse_rfc3339("2026-12-04T18:32:34.661246448Z")
        self.assertAlmostEqual(t - amd.parse_rfc3339("2026-12-04T18:32:34Z"), 0.661246448, places=6)
        self.assertAlmostEqual(amd.parse_rfc3339(amd.rfc3339(1.8e9 + 0.25)), 1.8e9 + 0.25, places=5)

    def test_resend_expansion(self):
        sc = amd.load_scenario("f_prometheus_resend")
        h1 = [(a["at"], x) for a in sc.actions for x in a["post"] if x["labels"] == {"alertname": "Gone", "instance": "h1"}]
        self.assertEqual([at for at, _ in h1], [0, 1, 2, 3])
        self.assertEqual([x["ends"] for _, x in h1], [4, 5, 6, 7])
        self.assertTrue(all(x["starts"] == 0 for _, x in h1), "re-sends keep the first startsAt")

    def test_every_scenario_loads_and_writes_both_configs(self):
        for name in amd.scenario_names():
            with self.subTest(name):
                sc = amd.load_scenario(name)
                am = amd.alertmanager_config(sc, "http://127.0.0.1:1/x")
                ts = amd.tocsin_config(sc, "http://127.0.0.1:1/x", 9, "/tmp/d")
                self.assertIn("webhook_configs:", am)
                self.assertIn("format: alertmanager", ts)
                self.assertIn("routes:\n  receiver: ", ts)
                for receiver in sc.config["receivers"]:
                    self.assertIn(f"url: http://127.0.0.1:1/x/{receiver}\n", am)
                    self.assertIn(f"url: http://127.0.0.1:1/x/{receiver}\n", ts)
                self.assertIsNotNone(sc.expect, "every scenario records what Alertmanager sends")


if __name__ == "__main__":
    unittest.main()
