"""The three shipped plans, end to end (issue 5): `tocsin init`'s config, the real binary on a
simulated clock, real receivers.

- A local SMTP server (aiosmtpd) receives the pages by mail; each carries an acknowledge link.
- The ops-hook channel is signed (HMAC-SHA256); the test checks every signature it receives.
- **System crash:** an alert opens the incident, level 1 pages the on-call person (webhook and
  mail), nobody acknowledges, level 2 pages carol and the signed channel ten minutes later; the
  mail's acknowledge link acknowledges; tasks are worked; the approval-gated failover action is
  approved and its webhook arrives with an idempotency key; resolved and closed.
- **Data breach:** the security lead is paged; `breach_confirmed` starts the 72-hour regulator
  clock; 72 simulated hours later it fires and pages legal; the approval-gated containment
  command runs; the incident is resolved.
- **Network attack:** detect and page → rate-limit (approved command) → block sources → verify
  → resolved.

The only edits to the starter config: ports and receiver URLs, e-mail addresses and an SMTP
channel, a secret on ops-hook, and /bin/echo standing in for the site-specific commands.
"""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import LogsOnFailure, SmtpSink, Tocsin, WebhookReceiver, free_port, http_request, parse_time, rfc3339, tocsin_bin

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)  # Monday; bob is on call until 09:00
SECRET = "response-flows-secret"
EMAILS = {"alice": "alice@example.test", "bob": "bob@example.test", "carol": "carol@example.test"}


def starter_config(root: str, port: int, hooks: str, smtp_port: int) -> str:
    """`tocsin init` into root, then point it at this test's receivers."""
    r = subprocess.run([tocsin_bin(), "init", root], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"tocsin init failed: {r.stderr}")
    path = os.path.join(root, "tocsin.yaml")
    with open(path) as f:
        text = f.read()
    text = text.replace("127.0.0.1:8470", f"127.0.0.1:{port}").replace("http://127.0.0.1:9000", hooks)
    text = text.replace(f"      webhook: {hooks}/alice", f"      webhook: {hooks}/alice\n      email: {EMAILS['alice']}")
    for who in ("bob", "carol"):
        text = text.replace(f"contact: {{webhook: {hooks}/{who}}}", f"contact: {{webhook: {hooks}/{who}, email: {EMAILS[who]}}}")
    text = text.replace(
        f"  - {{name: ops-hook, type: webhook, url: {hooks}/hook, format: alertmanager}}",
        f"  - {{name: ops-hook, type: webhook, url: {hooks}/hook, format: alertmanager, secret_env: TOCSIN_FLOWS_SECRET}}\n"
        f"  - {{name: mail, type: email, to: [ops@example.test], smtp: {{host: 127.0.0.1, port: {smtp_port}, from: tocsin@example.test}}}}")
    with open(path, "w") as f:
        f.write(text)
    for plan in ("system_crash", "data_breach", "network_attack"):
        p = os.path.join(root, "plans", f"{plan}.yaml")
        with open(p) as f:
            body = f.read()
        body = body.replace("/usr/local/bin/block-source", "/bin/echo").replace("/usr/local/bin/rate-limit", "/bin/echo")
        body = body.replace("http://127.0.0.1:9000", hooks)
        with open(p, "w") as f:
            f.write(body)
    r = subprocess.run([tocsin_bin(), "check-config", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"the edited starter config does not check: {r.stdout}{r.stderr}")
    return path


class ResponseFlows(LogsOnFailure):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-flows-")
        try:
            cls.smtp = SmtpSink(os.path.join(cls.tmp, "mail"))
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        smtp_port = cls.smtp.port
        cls.receiver = WebhookReceiver()
        cls.port = free_port()
        config = starter_config(os.path.join(cls.tmp, "ops"), cls.port, cls.receiver.url, smtp_port)
        os.environ["TOCSIN_FLOWS_SECRET"] = SECRET
        cls.server = Tocsin(config, cls.port, serve_args=["--simulated-clock", rfc3339(START)])
        try:
            cls.server.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "server", None) and cls.server.alive():
                cls.server.stop()
        finally:
            if getattr(cls, "receiver", None):
                cls.receiver.close()
            if getattr(cls, "smtp", None):
                cls.smtp.close()
            if not os.environ.get("TOCSIN_E2E_KEEP"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------
    def advance(self, **body) -> dt.datetime:
        r = self.server.post("/api/v1/clock/advance", body, timeout=120)
        self.assertEqual(r.status, 200, f"advance {body}: {r!r}")
        return parse_time(r.json["now"])

    def now(self) -> dt.datetime:
        return parse_time(self.server.get("/api/v1/clock").json["now"])

    def alert(self, labels: dict) -> dict:
        """Posts one firing alert (Alertmanager API v2) and returns the incident it opened."""
        before = {i["id"] for i in self.server.incidents()}
        ends = rfc3339(self.now() + dt.timedelta(days=7))
        r = self.server.post("/api/v2/alerts", [{"labels": labels, "endsAt": ends}])
        self.assertEqual(r.status, 200, repr(r))
        self.advance(by="1s")
        new = [i for i in self.server.incidents() if i["id"] not in before]
        self.assertEqual(len(new), 1, f"one new incident expected, got {new}")
        return new[0]

    def incident(self, iid: str) -> dict:
        r = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(r.status, 200, repr(r))
        return r.json

    def post(self, path: str, body: dict | None = None) -> dict:
        r = self.server.post(path, body or {})
        self.assertEqual(r.status, 200, f"POST {path} {body}: {r!r}")
        return r.json

    def kinds(self, inc: dict) -> list[str]:
        return [e["kind"] for e in inc["timeline"]]

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for envelope, m in self.smtp.messages() if address in envelope["rcpt_tos"]]

    def pages(self, path: str, iid: str) -> list:
        return [r for r in self.receiver.snapshot(path)
                if r.json and (r.json.get("incident") or {}).get("id") == iid]

    def assert_signed(self, rec) -> None:
        headers = {k.lower(): v for k, v in rec.headers.items()}
        ts, sig = headers.get("x-tocsin-timestamp"), headers.get("x-tocsin-signature")
        self.assertTrue(ts and sig, f"unsigned POST to {rec.path}: {headers}")
        want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + rec.body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(want, sig), f"bad signature on {rec.path}")

    # -- the flows --------------------------------------------------------------------------
    def test_1_system_crash(self):
        inc = self.alert({"alertname": "HostDown", "incident_type": "system_crash", "service": "api", "instance": "web-1"})
        iid = inc["id"]
        self.assertEqual(inc["plan"], "system_crash")
        self.assertEqual(inc["severity"], "critical")
        self.assertEqual([t["step"] for t in inc["tasks"]], ["activate", "triage", "failover", "recover", "postmortem"])

        # Level 1: the on-call person (bob) by webhook and by mail, with an acknowledge link.
        self.assertEqual(len(self.pages("/bob", iid)), 1, self.receiver.describe())
        mails = self.mails_to(EMAILS["bob"])
        self.assertEqual(len(mails), 1)
        text = mails[0].get_body(preferencelist=("plain",)).get_content()
        html = mails[0].get_body(preferencelist=("html",)).get_content()
        link = re.search(r"https?://\S+/api/v1/ack/[A-Za-z0-9_\-\.]+", text)
        self.assertIsNotNone(link, text)
        self.assertIn(link.group(0), html)

        # Nobody acknowledges: ten minutes later level 2 pages carol and the signed channel.
        self.advance(by="10m")
        self.assertEqual(len(self.pages("/carol", iid)), 1, self.receiver.describe())
        hooks = self.receiver.snapshot("/hook")
        self.assertGreaterEqual(len(hooks), 1, self.receiver.describe())
        for rec in hooks:
            self.assert_signed(rec)
        self.assertEqual(len(self.mails_to(EMAILS["carol"])), 1)
        inc = self.incident(iid)
        self.assertEqual(self.kinds(inc).count("escalated"), 2, inc["timeline"])

        # The mail's link acknowledges, as bob.
        r = http_request("POST", link.group(0), b"", headers={"Accept": "application/json"})
        self.assertEqual(r.status, 200, repr(r))
        inc = self.incident(iid)
        self.assertEqual(inc["status"], "acknowledged")
        self.assertEqual([e["actor"] for e in inc["timeline"] if e["kind"] == "acknowledged"], ["bob"])

        # Work the plan: triage, then approve the failover action.
        self.post(f"/api/v1/incidents/{iid}/tasks/activate/done", {"actor": "bob"})
        self.post(f"/api/v1/incidents/{iid}/tasks/triage/done", {"actor": "bob"})
        task = next(t for t in self.incident(iid)["tasks"] if t["step"] == "failover")
        self.assertEqual(task["action"]["state"], "awaiting_approval")
        self.assertEqual(self.receiver.snapshot("/failover"), [], "the action waited for approval")
        self.post(f"/api/v1/incidents/{iid}/actions/failover/approve", {"actor": "alice"})
        self.advance(by="1s")
        failover = self.receiver.snapshot("/failover")
        self.assertEqual(len(failover), 1, json.dumps(self.incident(iid)["tasks"], indent=1))
        self.assertEqual({k.lower(): v for k, v in failover[0].headers.items()}.get("idempotency-key"),
                         f"tocsin-{iid}-failover")
        inc = self.incident(iid)
        self.assertIn("action_approved", self.kinds(inc))
        self.assertIn("action_succeeded", self.kinds(inc))

        for step in ("failover", "recover", "postmortem"):
            self.post(f"/api/v1/incidents/{iid}/tasks/{step}/done", {"actor": "bob"})
        self.assertEqual(self.post(f"/api/v1/incidents/{iid}/resolve", {"actor": "bob"})["status"], "resolved")
        # Closed means the postmortem is done (docs/postmortems.md): write it, then close.
        r = self.server.put(f"/api/v1/incidents/{iid}/postmortem",
                            {"actor": "bob", "summary": "primary crashed", "impact": "api down",
                             "root_cause": "kernel panic on the primary"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.post(f"/api/v1/incidents/{iid}/close", {"actor": "bob"})["status"], "closed")

    def test_2_data_breach(self):
        inc = self.alert({"alertname": "Exfiltration", "incident_type": "data_breach", "instance": "db-1"})
        iid = inc["id"]
        self.assertEqual(inc["plan"], "data_breach")
        self.post(f"/api/v1/incidents/{iid}/ack", {"actor": "carol"})
        self.post(f"/api/v1/incidents/{iid}/tasks/activate/done", {"actor": "carol"})
        self.post(f"/api/v1/incidents/{iid}/tasks/investigate/done", {"actor": "carol"})

        # Confirming the breach starts GDPR art. 33's 72 hours.
        self.post(f"/api/v1/incidents/{iid}/events", {"kind": "breach_confirmed", "actor": "alice",
                                                     "detail": "customer table copied"})
        confirmed = self.now()
        self.post(f"/api/v1/incidents/{iid}/tasks/confirm/done", {"actor": "alice"})
        self.post(f"/api/v1/incidents/{iid}/actions/contain/approve", {"actor": "carol"})
        self.advance(by="1s")
        inc = self.incident(iid)
        contain = next(t for t in inc["tasks"] if t["step"] == "contain")
        self.assertEqual(contain["action"]["state"], "succeeded", contain)
        self.assertIn(f"--incident {iid}", contain["action"]["last_output"])  # the templated argument

        legal_before = len(self.pages("/bob", iid))
        self.advance(to=rfc3339(confirmed + dt.timedelta(hours=72) - dt.timedelta(seconds=2)))
        self.assertNotIn("clock_expired", self.kinds(self.incident(iid)))
        self.advance(to=rfc3339(confirmed + dt.timedelta(hours=72) + dt.timedelta(seconds=1)))
        inc = self.incident(iid)
        expired = [e for e in inc["timeline"] if e["kind"] == "clock_expired"]
        self.assertEqual(len(expired), 1, inc["timeline"][-10:])
        self.assertIn("regulator-notification", expired[0]["detail"])
        self.assertEqual(parse_time(expired[0]["at"]), confirmed + dt.timedelta(hours=72))
        legal_pages = [e for e in inc["timeline"] if e["kind"] == "paged" and "regulator-notification" in e["detail"]]
        self.assertEqual(len(legal_pages), 1, legal_pages)
        self.assertIn("person:bob", legal_pages[0]["detail"])  # legal is bob in the starter plan
        self.assertGreater(len(self.pages("/bob", iid)), legal_before)
        self.assertIn("clock_reminder", self.kinds(inc))  # the hourly status update kept reminding

        for step in ("restore", "notify_regulator", "notify_users", "postmortem"):
            self.post(f"/api/v1/incidents/{iid}/tasks/{step}/done", {"actor": "bob"})
        self.assertEqual(self.post(f"/api/v1/incidents/{iid}/resolve", {"actor": "carol"})["status"], "resolved")

    def test_3_network_attack(self):
        inc = self.alert({"alertname": "InboundFlood", "incident_type": "network_attack", "service": "edge"})
        iid = inc["id"]
        self.assertEqual(inc["plan"], "network_attack")
        self.assertEqual([t["step"] for t in inc["tasks"]], ["detect", "rate_limit", "block_sources", "verify", "postmortem"])
        self.post(f"/api/v1/incidents/{iid}/ack", {"actor": "alice"})
        self.post(f"/api/v1/incidents/{iid}/tasks/detect/done", {"actor": "alice"})
        self.post(f"/api/v1/incidents/{iid}/actions/rate_limit/approve", {"actor": "alice"})
        self.advance(by="1s")
        rate = next(t for t in self.incident(iid)["tasks"] if t["step"] == "rate_limit")
        self.assertEqual(rate["action"]["state"], "succeeded", rate)
        for step in ("rate_limit", "block_sources", "verify", "postmortem"):
            self.post(f"/api/v1/incidents/{iid}/tasks/{step}/done", {"actor": "alice"})
        self.assertEqual(self.post(f"/api/v1/incidents/{iid}/resolve", {"actor": "alice"})["status"], "resolved")


if __name__ == "__main__":
    unittest.main()
