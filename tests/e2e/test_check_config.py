"""`tocsin check-config` on the starter config: valid (exit 0), with warnings for plans and risks
past their review dates, and one clear file:line error (exit 1) for a broken plan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import tocsin_bin


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-e2e-check-")
        r = subprocess.run([tocsin_bin(), "init", self.dir], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.config = os.path.join(self.dir, "tocsin.yaml")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([tocsin_bin(), "check-config", self.config], capture_output=True, text=True)

    def edit(self, path: str, old: str, new: str) -> None:
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w") as f:
            f.write(text.replace(old, new))

    def test_overdue_reviews_are_warnings(self):
        self.assertEqual(self.check().returncode, 0)
        plan = os.path.join(self.dir, "plans", "system_crash.yaml")
        self.edit(plan, "reviewed: 2026-11-02", "reviewed: 2020-01-01")
        with open(self.config) as f:
            risk_review = re.search(r"review: (\d{4}-\d{2}-\d{2})", f.read()).group(1)
        self.edit(self.config, f"review: {risk_review}", "review: 2020-02-02")
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"system_crash\.yaml:\d+: warning: plan system_crash: review overdue since 2020-03-31")
        self.assertRegex(r.stdout, r"tocsin\.yaml:\d+: warning: risk [a-z-]+: review overdue since 2020-02-02")

    def test_a_missing_drill_scenario_is_a_warning_and_a_typo_in_drill_an_error(self):
        plan = os.path.join(self.dir, "plans", "data_breach.yaml")
        scenarios = os.path.join(self.dir, "scenarios")
        os.makedirs(scenarios, exist_ok=True)
        for name in ("system_crash", "network_attack", "data_breach"):
            with open(os.path.join(scenarios, name + ".yaml"), "w") as f:
                f.write("name: stand-in\n")
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("drill scenario", r.stdout)
        os.remove(os.path.join(scenarios, "data_breach.yaml"))
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"data_breach\.yaml:\d+: warning: plan data_breach: drill scenario "
                                   r"\S*scenarios/data_breach\.yaml does not exist")
        self.assertNotIn("plan system_crash: drill", r.stdout)
        self.edit(plan, "drill: {every: 90d,", "drill: {evry: 90d,")
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"data_breach\.yaml:\d+: drill\.evry: unknown key \"evry\"; expected one of: every, scenario")

    def test_a_step_owned_by_an_unknown_role_is_an_error(self):
        plan = os.path.join(self.dir, "plans", "network_attack.yaml")
        self.edit(plan, "owner: commander, due: 5m}", "owner: comander, due: 5m}")
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"network_attack\.yaml:\d+")
        self.assertIn("comander", r.stderr)


if __name__ == "__main__":
    unittest.main()
