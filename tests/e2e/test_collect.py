"""Pull collection end to end: tocsin scrapes a real /metrics target and probes a closed TCP port;
a scraped gauge crossing a rule and a failing probe each open an incident.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_collect
"""

from __future__ import annotations

import http.server
import threading
import unittest

from harness import ServerTestCase, free_port, wait_until


class MetricsTarget:
    """A /metrics endpoint whose node_load1 value the test sets."""

    def __init__(self):
        self.value = 0.2
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = (f"# TYPE node_load1 gauge\nnode_load1{{cpu=\"all\"}} {target.value}\n").encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class CollectTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.target = MetricsTarget()
        cls.closed_port = free_port()  # nothing listens there
        cls.extra_rules = f"""\
  - name: NodeBusy
    select: node_load1
    detector: {{kind: threshold, above: 0.9}}
    labels: {{incident_type: system_crash}}
  - name: ProbeDown
    select: 'probe_success{{probe="db"}}'
    detector: {{kind: threshold, below: 0.5}}
    labels: {{incident_type: system_crash}}
scrape:
  - {{job: node, interval: 1s, timeout: 1s, targets: ["127.0.0.1:{cls.target.port}"]}}
probes:
  - {{name: db, tcp: "127.0.0.1:{cls.closed_port}", interval: 1s, timeout: 500ms}}
"""
        try:
            super().setUpClass()
        except BaseException:
            cls.target.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.target.close()

    def incident_for(self, alertname: str):
        for inc in self.server.incidents():
            for a in inc.get("alerts", []):
                if a.get("labels", {}).get("alertname") == alertname:
                    return inc, a
        return None

    def test_failing_probe_opens_an_incident(self):
        found = wait_until(lambda: self.incident_for("ProbeDown"), timeout=15, what="a ProbeDown incident")
        self.assertIsNotNone(found, f"no ProbeDown incident: {self.server.incidents()}")
        inc, alert = found
        self.assertEqual(alert["labels"]["probe"], "db")
        self.assertEqual(alert["labels"]["instance"], f"127.0.0.1:{self.closed_port}")
        self.assertEqual(inc["plan"], "system_crash")

    def test_scraped_gauge_crossing_a_rule_opens_an_incident(self):
        self.assertIsNone(self.incident_for("NodeBusy"))
        self.target.value = 0.97
        found = wait_until(lambda: self.incident_for("NodeBusy"), timeout=15, what="a NodeBusy incident")
        self.assertIsNotNone(found, f"no NodeBusy incident: {self.server.incidents()}")
        inc, alert = found
        self.assertEqual(alert["labels"]["job"], "node")
        self.assertEqual(alert["labels"]["instance"], f"127.0.0.1:{self.target.port}")
        self.assertEqual(alert["labels"]["cpu"], "all")
        self.assertEqual(alert["status"], "firing")
        metrics = self.server.get("/metrics").text
        self.assertIn('tocsin_rule_series{rule="NodeBusy"} 1', metrics)


if __name__ == "__main__":
    unittest.main()
