"""Alertmanager compatibility with the real clients (issue 4): amtool 0.25 and Prometheus 2.42
from Debian's packages, pointed at a running tocsin.

- amtool adds an alert, queries it, silences it, sees it silenced, expires the silence.
- Prometheus evaluates an always-firing rule every second and delivers it to tocsin as its
  Alertmanager (`alerting: alertmanagers:`); tocsin routes it to a webhook receiver in the
  Alertmanager webhook v4 format.

Skipped (not failed) when amtool or prometheus is not installed; scripts/setup installs both.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import ServerTestCase, free_port, http_request, wait_until

AMTOOL = shutil.which("amtool")
PROMETHEUS = shutil.which("prometheus")

# Routed alerts go to the receiver's /hook as Alertmanager v4 bodies (see harness.write_config:
# the root route's receiver is ops-hook with group_wait 0s).


def amtool_env() -> dict:
    env = dict(os.environ)
    env["HOME"] = tempfile.gettempdir()  # amtool reads ~/.config/amtool/config.yml if present
    return env


@unittest.skipUnless(AMTOOL, "amtool not installed (Debian package prometheus-alertmanager)")
class Amtool(ServerTestCase):
    def amtool(self, *args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([AMTOOL, f"--alertmanager.url={self.server.base}", *args], capture_output=True,
                           text=True, timeout=30, env=amtool_env(), stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, f"amtool {' '.join(args)} failed: {r.stderr or r.stdout}")
        return r

    def alerts(self, *flags: str) -> list[dict]:
        return json.loads(self.amtool("alert", "query", "-o", "json", *flags).stdout)

    def test_alert_add_query_silence_expire(self):
        self.amtool("alert", "add", "alertname=DiskFull", "service=db", "severity=warning",
                    "--annotation=summary=disk 95% full")
        got = self.alerts()
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["labels"], {"alertname": "DiskFull", "service": "db", "severity": "warning"})
        self.assertEqual(got[0]["annotations"]["summary"], "disk 95% full")
        self.assertEqual(got[0]["status"]["state"], "active")
        self.assertEqual(self.alerts("alertname=Other"), [])

        sid = self.amtool("silence", "add", "alertname=DiskFull", "service=db", "--comment=resizing",
                          "--author=alice", "--duration=1h").stdout.strip()
        self.assertRegex(sid, r"^[0-9a-f-]{36}$")
        silences = json.loads(self.amtool("silence", "query", "-o", "json").stdout)
        self.assertEqual([s["id"] for s in silences], [sid])
        self.assertEqual(silences[0]["createdBy"], "alice")
        self.assertEqual(silences[0]["comment"], "resizing")
        self.assertEqual(silences[0]["status"]["state"], "active")
        # amtool's default query hides silenced alerts; -s shows them, marked.
        self.assertEqual(self.alerts(), [])
        silenced = self.alerts("-s")
        self.assertEqual(len(silenced), 1)
        self.assertEqual(silenced[0]["status"]["silencedBy"], [sid])

        self.amtool("silence", "expire", sid)
        self.assertEqual(json.loads(self.amtool("silence", "query", "-o", "json").stdout), [])
        expired = json.loads(self.amtool("silence", "query", "-o", "json", "--expired").stdout)
        self.assertEqual([s["status"]["state"] for s in expired], ["expired"])
        self.assertEqual(len(self.alerts()), 1)

    def test_bad_silence_is_refused(self):
        r = subprocess.run([AMTOOL, f"--alertmanager.url={self.server.base}", "silence", "add", "alertname=~.*",
                            "--comment=x", "--author=a"], capture_output=True, text=True, timeout=30,
                           env=amtool_env(), stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("empty string", r.stderr + r.stdout)


@unittest.skipUnless(PROMETHEUS, "prometheus not installed (Debian package prometheus)")
class PrometheusAsClient(ServerTestCase):
    def setUp(self):
        self.prom_dir = tempfile.mkdtemp(prefix="tocsin-prom-")
        with open(os.path.join(self.prom_dir, "rules.yml"), "w") as f:
            f.write("""groups:
  - name: tocsin-e2e
    interval: 1s
    rules:
      - alert: PrometheusSaysHello
        expr: vector(1)
        labels: {severity: info, service: prom}
        annotations: {summary: "from Prometheus"}
""")
        with open(os.path.join(self.prom_dir, "prometheus.yml"), "w") as f:
            f.write(f"""global: {{evaluation_interval: 1s, scrape_interval: 1m}}
rule_files: [{os.path.join(self.prom_dir, 'rules.yml')}]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs: [{{targets: ["127.0.0.1:{self.port}"]}}]
""")
        self.prom_port = free_port()
        self.log = open(os.path.join(self.prom_dir, "prometheus.log"), "wb")
        self.prom = subprocess.Popen(
            [PROMETHEUS, f"--config.file={os.path.join(self.prom_dir, 'prometheus.yml')}",
             f"--storage.tsdb.path={os.path.join(self.prom_dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.prom_port}", "--rules.alert.resend-delay=1s"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def tearDown(self):
        self.prom.terminate()
        try:
            self.prom.wait(10)
        except subprocess.TimeoutExpired:
            self.prom.kill()
        self.log.close()
        shutil.rmtree(self.prom_dir, ignore_errors=True)

    def prom_log(self) -> str:
        with open(os.path.join(self.prom_dir, "prometheus.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def test_prometheus_delivers_alerts_to_tocsin(self):
        def delivered():
            r = self.server.get("/api/v2/alerts?filter=alertname%3D%22PrometheusSaysHello%22")
            return r.json if r.status == 200 and r.json else None
        self.assertTrue(wait_until(delivered, 60, interval=0.2),
                        f"Prometheus did not deliver its alert within 60 s\n--- prometheus log ---\n{self.prom_log()}")
        alert = delivered()[0]
        self.assertEqual(alert["labels"]["severity"], "info")
        self.assertEqual(alert["annotations"]["summary"], "from Prometheus")
        self.assertIn("g0.expr=vector", alert["generatorURL"])
        # Prometheus sends an end time (now + 4 × resend delay) and keeps re-sending.
        self.assertNotEqual(alert["endsAt"], "0001-01-01T00:00:00Z")
        got = self.receiver.wait_for("/hook", timeout=20)
        bodies = [r.json for r in got if r.json and any(
            a["labels"].get("alertname") == "PrometheusSaysHello" for a in r.json.get("alerts", []))]
        self.assertTrue(bodies, self.receiver.describe())
        self.assertEqual(bodies[0]["version"], "4")
        self.assertEqual(bodies[0]["receiver"], "ops-hook")
        self.assertEqual(bodies[0]["status"], "firing")
        self.assertEqual(bodies[0]["groupKey"], '{}:{alertname="PrometheusSaysHello", service="prom"}')
        # Re-sends of an unchanged alert do not notify again (repeat_interval is hours away).
        time.sleep(3)
        again = [r for r in self.receiver.snapshot("/hook") if r.json and any(
            a["labels"].get("alertname") == "PrometheusSaysHello" for a in r.json.get("alerts", []))]
        self.assertEqual(len(again), 1, self.receiver.describe())


if __name__ == "__main__":
    unittest.main()
