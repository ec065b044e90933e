"""Channels end to end with the real binary: an incident pages the on-call person by email
through a real local SMTP server (aiosmtpd), a webhook channel whose receiver checks the HMAC
signature, and an exec channel; the mail's acknowledge link acknowledges the incident; a channel
that can never deliver (STARTTLS demanded of a server without it) dead-letters and raises a
TocsinNotificationFailed warning alert that is routed like any alert.

Needs aiosmtpd (Debian: python3-aiosmtpd). The SMTP server runs under an interpreter that has
it: this one, or /usr/bin/python3.
Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_notify_channels
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import (RULE_FOR_SECONDS, THRESHOLD, LogsOnFailure, SmtpSink, Tocsin, WebhookReceiver, free_port,
                     http_request, on_call_candidates, wait_until)

import datetime as dt

HOOK_SECRET = "e2e-webhook-secret-\u00e9"  # non-ASCII: the secret is bytes, UTF-8
INSTANCE = "knoten-\u00fc1"  # non-ASCII, so the subject must be RFC 2047-encoded
EMAILS = {"alice": "alice@example.test", "bob": "bob@example.test"}


def verify_signature(secret: str, headers: dict[str, str], body: bytes, now: float,
                     tolerance: float = 300.0) -> str | None:
    """What a receiver does (docs/notifications.md): None when the signature is good, else why not."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts, sig = lower.get("x-tocsin-timestamp"), lower.get("x-tocsin-signature")
    if not ts or not sig:
        return "unsigned"
    if abs(now - int(ts)) > tolerance:
        return "stale timestamp"
    want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(want, sig) else "bad signature"


class SignedReceiver:
    """A webhook receiver that checks tocsin's signature: 401 unless it is good."""

    def __init__(self, secret: str):
        self.accepted: list[tuple[dict, bytes]] = []
        self.rejected: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                why = verify_signature(secret, dict(self.headers.items()), body, time.time())
                if why:
                    outer.rejected.append(why)
                    self.send_response(401)
                else:
                    outer.accepted.append((dict(self.headers.items()), body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def write_config(root: str, port: int, smtp_port: int, hook_url: str, signed_url: str, exec_out: str) -> str:
    os.makedirs(os.path.join(root, "plans"), exist_ok=True)
    text = f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {os.path.join(root, "data")}
  external_url: http://127.0.0.1:{port}
people:
  - {{id: alice, timezone: UTC, contact: {{email: {EMAILS["alice"]}}}}}
  - {{id: bob, timezone: UTC, contact: {{email: {EMAILS["bob"]}}}}}
channels:
  # The first email channel's SMTP settings also carry people's contact emails.
  - {{name: mail, type: email, smtp: {{host: 127.0.0.1, port: {smtp_port}, from: "Tocsin <tocsin@example.test>"}},
     to: [ops-list@example.test]}}
  - {{name: mail-tls, type: email, smtp: {{host: 127.0.0.1, port: {smtp_port}, from: tocsin@example.test,
     starttls: true}}, to: [never@example.test]}}
  - {{name: signed-hook, type: webhook, url: {signed_url}/signed, secret_env: TOCSIN_E2E_HOOK_SECRET}}
  - {{name: runner, type: exec, command: [/bin/sh, -c, 'cat > "$1"; env | grep ^TOCSIN_ | sort > "$1.tmp"; mv "$1.tmp" "$1.env"', sh,
     {exec_out}], timeout: 10s}}
  - {{name: ops-hook, type: webhook, url: {hook_url}/hook, format: alertmanager}}
schedules:
  - id: ops-primary
    timezone: UTC
    layers:
      - {{rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}}
escalation_policies:
  - id: ops
    levels:
      - {{after: 0m, notify: ["schedule:ops-primary", "channel:signed-hook", "channel:runner", "channel:mail-tls"]}}
rules:
  - name: HighLoad
    select: 'system_load{{service="api"}}'
    detector: {{kind: threshold, above: {THRESHOLD}}}
    for: {int(RULE_FOR_SECONDS)}s
    labels: {{incident_type: system_crash}}
    annotations: {{summary: "load {{{{ $value }}}} on {{{{ $labels.instance }}}}"}}
routes:
  receiver: ops-hook
  group_by: [alertname]
  group_wait: 0s
plans:
  - id: system_crash
    title: System crash
    match: ['incident_type="system_crash"']
    severity: critical
    escalation: ops
    roles: {{commander: "schedule:ops-primary"}}
    steps:
      - {{id: triage, title: Triage, owner: commander, due: 15m}}
"""
    path = os.path.join(root, "tocsin.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class NotifyChannelsTest(LogsOnFailure):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-notify-")
        try:
            cls.smtp = SmtpSink(os.path.join(cls.tmp, "mail"))
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.smtp_port = cls.smtp.port
        cls.receiver = WebhookReceiver()
        cls.signed = SignedReceiver(HOOK_SECRET)
        cls.exec_out = os.path.join(cls.tmp, "exec-payload.json")
        cls.port = free_port()
        config = write_config(cls.tmp, cls.port, cls.smtp_port, cls.receiver.url, cls.signed.url, cls.exec_out)
        os.environ["TOCSIN_E2E_HOOK_SECRET"] = HOOK_SECRET
        cls.server = Tocsin(config, cls.port)
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
            for closer in (getattr(cls, "receiver", None), getattr(cls, "signed", None)):
                if closer:
                    closer.close()
            if getattr(cls, "smtp", None):
                cls.smtp.close()
            if os.environ.get("TOCSIN_E2E_KEEP"):
                sys.stderr.write(f"\nkept {cls.tmp}\n")
            else:
                shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------
    def mails(self) -> list[tuple[dict, email.message.EmailMessage]]:
        return self.smtp.messages()

    def incident(self) -> dict:
        def probe():
            incs = self.server.incidents()
            return incs[0] if incs else None
        inc = wait_until(probe, RULE_FOR_SECONDS + 10)
        self.assertIsNotNone(inc, "no incident opened")
        return inc

    def get_incident(self, iid: str) -> dict:
        r = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(r.status, 200, repr(r))
        return r.json

    # -- the test ---------------------------------------------------------------------------
    def test_channels(self):
        t_push = dt.datetime.now(dt.timezone.utc)
        r = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": INSTANCE},
                               "value": 0.95}])
        self.assertEqual(r.status // 100, 2, repr(r))
        inc = self.incident()
        iid = inc["id"]
        candidates = on_call_candidates(t_push)

        # 1. The on-call person's page arrived as a real mail, with both parts.
        got = wait_until(lambda: [m for m in self.mails() if set(m[0]["rcpt_tos"]) & {EMAILS[p] for p in candidates}],
                         10)
        self.assertTrue(got, f"no page mail for {candidates}; mails: {[m[0] for m in self.mails()]}")
        envelope, mail = got[0]
        person = next(p for p in candidates if EMAILS[p] in envelope["rcpt_tos"])
        self.assertEqual(envelope["mail_from"], "tocsin@example.test")
        self.assertEqual(mail["From"], "Tocsin <tocsin@example.test>")
        self.assertEqual(mail["To"], EMAILS[person])
        want_subject = f"[critical] Incident #{iid}: System crash: load 0.95 on {INSTANCE}"
        self.assertEqual(str(mail["Subject"]), want_subject)
        self.assertIn("=?UTF-8?B?", mail.as_bytes().decode("ascii"),
                      "a non-ASCII subject is RFC 2047-encoded on the wire")
        self.assertTrue(mail["Message-ID"] and mail["Date"], "Message-ID and Date headers")
        self.assertEqual(mail.get_content_type(), "multipart/alternative")
        parts = {p.get_content_type(): p.get_content() for p in mail.iter_parts()}
        self.assertEqual(set(parts), {"text/plain", "text/html"})
        text, html = parts["text/plain"], parts["text/html"]
        self.assertIn(f"Incident #{iid}: System crash: load 0.95 on {INSTANCE}", text)
        link = re.search(r"Acknowledge: (http://\S+/api/v1/ack/\S+)", text)
        self.assertIsNotNone(link, f"no ack link in the text part:\n{text}")
        ack_url = link.group(1)
        self.assertIn(f'href="{ack_url}"', html, "the same ack link in the HTML part")

        # 2. The signed webhook: the receiver checked the signature and accepted it.
        self.assertTrue(wait_until(lambda: self.signed.accepted, 10),
                        f"signed webhook not accepted; rejected: {self.signed.rejected}")
        self.assertEqual(self.signed.rejected, [])
        headers, body = self.signed.accepted[0]
        page = json.loads(body)
        self.assertEqual(page["incident"]["id"], iid)
        self.assertTrue(page["ack_url"].startswith(f"http://127.0.0.1:{self.port}/api/v1/ack/"), page)

        # 3. The exec channel got the page on stdin and its environment. The command renames the
        # .env file into place, so it exists only once complete (a plain `> file` let this test read
        # it empty, in a CI run).
        self.assertTrue(wait_until(lambda: os.path.exists(self.exec_out + ".env"), 10), "exec channel did not run")
        with open(self.exec_out) as f:
            self.assertEqual(json.load(f)["incident"]["id"], iid)
        with open(self.exec_out + ".env") as f:
            env = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        self.assertEqual(env.get("TOCSIN_TARGET"), "channel:runner")
        self.assertEqual(env.get("TOCSIN_INCIDENT_ID"), iid)
        self.assertNotIn("TOCSIN_E2E_HOOK_SECRET", env, "the command does not inherit tocsin's environment")

        # 4. The ack link: GET shows the incident and changes nothing; POST acknowledges.
        got_page = http_request("GET", ack_url)
        self.assertEqual(got_page.status, 200, repr(got_page))
        self.assertIn('<form method="post">', got_page.text)
        self.assertEqual(self.get_incident(iid)["status"], "triggered")
        tampered = ack_url[:-1] + ("A" if ack_url[-1] != "A" else "B")
        bad = http_request("POST", tampered, b"", {"Accept": "application/json"})
        self.assertEqual(bad.status, 403, repr(bad))
        acked = http_request("POST", ack_url, b"", {"Accept": "application/json"})
        self.assertEqual(acked.status, 200, repr(acked))
        self.assertIs(acked.json["acknowledged"], True, repr(acked))
        inc = self.get_incident(iid)
        self.assertEqual(inc["status"], "acknowledged")
        ack_events = [e for e in inc["timeline"] if e["kind"] == "acknowledged"]
        self.assertEqual([e["actor"] for e in ack_events], [person])
        again = http_request("POST", ack_url, b"", {"Accept": "application/json"})
        self.assertEqual(again.status, 200, repr(again))
        self.assertIs(again.json["acknowledged"], False)
        self.assertIn("already acknowledged", again.json["message"])

        # 5. STARTTLS demanded of a server without it: no clear-text mail, a dead letter, and a
        #    TocsinNotificationFailed warning routed to the root receiver.
        def failed():
            return [e for e in self.get_incident(iid)["timeline"]
                    if e["kind"] == "notify_failed" and "channel:mail-tls" in e["detail"]]
        events = wait_until(failed, 10)
        self.assertTrue(events, f"no notify_failed for channel:mail-tls: {self.get_incident(iid)['timeline']}")
        self.assertFalse([m for m in self.mails() if "never@example.test" in m[0]["rcpt_tos"]],
                         "a mail went out in clear text despite starttls: true")
        hooks = self.receiver.wait_for(
            lambda p: p == "/hook" and any(
                a["labels"].get("alertname") == "TocsinNotificationFailed"
                for rec in self.receiver.snapshot("/hook") for a in (rec.json or {}).get("alerts", [])), 1, 10)
        alerts = [a for rec in self.receiver.snapshot("/hook") for a in (rec.json or {}).get("alerts", [])
                  if a["labels"].get("alertname") == "TocsinNotificationFailed"]
        self.assertTrue(hooks and alerts, f"no TocsinNotificationFailed alert at the root receiver: "
                                          f"{self.receiver.describe()}")
        self.assertEqual(alerts[0]["labels"]["severity"], "warning")
        self.assertEqual(alerts[0]["labels"]["target"], "channel:mail-tls")
        self.assertEqual(alerts[0]["labels"]["channel"], "email")
        metrics = self.server.get("/metrics").text
        self.assertRegex(metrics, r'tocsin_notifications_dead_letter_total\{channel="email"\} [1-9]')


if __name__ == "__main__":
    unittest.main()
