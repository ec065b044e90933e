"""Authentication and roles (issue 9, item 1) end to end on the real binary: tokens from an
environment variable, a file and a SHA-256 in the config; 401/403/2xx per role; the intake secret
as a bearer token and as the password of HTTP Basic auth (and that it cannot act on an incident);
a web UI login with its HttpOnly cookie, CSRF token and logout; a session surviving a restart; the
audit log naming the token; the CLI reading TOCSIN_TOKEN; and a server that refuses to start
when a token's secret is missing.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_auth
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import (RULE_FOR_SECONDS, ServerTestCase, Tocsin, WebhookReceiver, free_port, http_request,
                     tocsin_bin, wait_until, write_config)

OPS_TOKEN = "ops-token-e2e-0123456789abcdef"       # responder, from the environment
ADMIN_TOKEN = "admin-token-e2e-0123456789abcdef"   # admin, from a file
VIEWER_TOKEN = "viewer-token-e2e-0123456789abcdef"  # viewer, only its SHA-256 in the config
INTAKE_SECRET = "intake-secret-e2e-0123456789abcdef"

AUTH_YAML = f"""\
auth:
  tokens:
    - {{name: ops-cli, role: responder, token_env: TOCSIN_E2E_OPS_TOKEN}}
    - {{name: root, role: admin, token_file: admin.token}}
    - {{name: grafana, role: viewer, token_sha256: {hashlib.sha256(VIEWER_TOKEN.encode()).hexdigest()}}}
  intake: {{secret_env: TOCSIN_E2E_INTAKE}}
"""


def call(server: Tocsin, method: str, path: str, payload=None, token: str | None = None,
         headers: dict[str, str] | None = None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        h["Content-Type"] = "application/json"
    elif method in ("POST", "PUT", "DELETE"):
        body = b""
    return http_request(method, server.url(path), body, h)


class AuthTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-auth-")
        cls.receiver = WebhookReceiver()
        cls.port = free_port()
        cls.config_path = write_config(cls.tmp, cls.port, cls.receiver.url)
        with open(cls.config_path, "a") as f:
            f.write(AUTH_YAML)
        with open(os.path.join(cls.tmp, "admin.token"), "w") as f:
            f.write(ADMIN_TOKEN + "\n")
        os.environ["TOCSIN_E2E_OPS_TOKEN"] = OPS_TOKEN
        os.environ["TOCSIN_E2E_INTAKE"] = INTAKE_SECRET
        cls.server = Tocsin(cls.config_path, cls.port)
        try:
            cls.server.start()
        except BaseException:
            cls.receiver.close()
            raise

    def open_incident_with_intake(self, instance: str) -> dict:
        r = call(self.server, "POST", "/api/v1/push",
                 [{"name": "system_load", "labels": {"service": "api", "instance": instance}, "value": 0.95}],
                 token=INTAKE_SECRET)
        self.assertEqual(r.status, 200, f"push with the intake secret: {r!r}")

        def found():
            listed = call(self.server, "GET", "/api/v1/incidents", token=VIEWER_TOKEN)
            self.assertEqual(listed.status, 200, repr(listed))
            return next((i for i in listed.json["incidents"] for a in (i.get("alerts") or [])
                         if (a.get("labels") or {}).get("instance") == instance), None)
        inc = wait_until(found, RULE_FOR_SECONDS + 8, what=f"an incident for {instance}")
        self.assertIsNotNone(inc, f"no incident for {instance} within {RULE_FOR_SECONDS + 8} s")
        return inc

    def test_roles_intake_and_audit(self):
        s = self.server
        # Public: health, the UI's page; everything else needs a token.
        self.assertEqual(call(s, "GET", "/healthz").status, 200)
        self.assertEqual(call(s, "GET", "/").status, 200)
        r = call(s, "GET", "/api/v1/incidents")
        self.assertJsonError(r, 401, "no token")
        self.assertEqual(r.headers.get("WWW-Authenticate"), 'Bearer realm="tocsin"')
        self.assertJsonError(call(s, "GET", "/api/v1/incidents", token="wrong-token-0123456789"), 401, "bad token")
        self.assertJsonError(call(s, "GET", "/metrics"), 401, "metrics are not public by default")
        # The viewer (SHA-256 in the config) reads but cannot write.
        self.assertEqual(call(s, "GET", "/api/v1/incidents", token=VIEWER_TOKEN).status, 200)
        self.assertJsonError(call(s, "POST", "/api/v1/push", [], token=VIEWER_TOKEN), 403, "viewer push")
        self.assertJsonError(call(s, "POST", "/api/v1/push", []), 401, "push without a token")

        inc = self.open_incident_with_intake("auth-1")
        iid = inc["id"]
        # The intake secret opens intake only.
        r = call(s, "POST", f"/api/v1/incidents/{iid}/ack", {}, token=INTAKE_SECRET)
        self.assertJsonError(r, 403, "intake secret acking")
        self.assertIn("intake secret grants only the intake routes", r.json["error"])
        basic = base64.b64encode(f"prometheus:{INTAKE_SECRET}".encode()).decode()
        r = http_request("POST", s.url("/api/v2/alerts"),
                         json.dumps([{"labels": {"alertname": "FromAlertmanager", "service": "api"}}]).encode(),
                         {"Content-Type": "application/json", "Authorization": f"Basic {basic}"})
        self.assertEqual(r.status, 200, f"alerts with Basic auth: {r!r}")
        wrong_basic = base64.b64encode(b"prometheus:not-the-secret").decode()
        r = http_request("POST", s.url("/api/v2/alerts"), b"[]",
                         {"Content-Type": "application/json", "Authorization": f"Basic {wrong_basic}"})
        self.assertJsonError(r, 401, "wrong Basic password")

        # The responder (token from the environment) acts; the admin (token from a file) audits.
        r = call(s, "POST", f"/api/v1/incidents/{iid}/ack", {"actor": "alice"}, token=OPS_TOKEN)
        self.assertEqual(r.status, 200, repr(r))
        r = call(s, "GET", "/api/v1/audit?action=incident.acknowledge", token=OPS_TOKEN)
        self.assertJsonError(r, 403, "responder reading the audit log")
        self.assertEqual(r.json["error"], "this route needs the admin role; token ops-cli has the responder role")
        r = call(s, "GET", "/api/v1/audit?action=incident.acknowledge", token=ADMIN_TOKEN)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual([e["actor"] for e in r.json["entries"]], ["alice (token ops-cli)"])
        # An unknown write needs admin.
        self.assertJsonError(call(s, "POST", "/api/v1/nothing-here", {}, token=OPS_TOKEN), 403, "unknown write")
        self.assertJsonError(call(s, "POST", "/api/v1/nothing-here", {}, token=ADMIN_TOKEN), 404, "unknown write")

        # The CLI reads TOCSIN_TOKEN when --token is absent.
        env = dict(os.environ, TOCSIN_TOKEN=VIEWER_TOKEN)
        out = subprocess.run([s.binary, "incident", "list", "--server", s.base], capture_output=True, text=True,
                             timeout=20, env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(str(iid), out.stdout)
        env.pop("TOCSIN_TOKEN")
        out = subprocess.run([s.binary, "incident", "list", "--server", s.base], capture_output=True, text=True,
                             timeout=20, env=env, stdin=subprocess.DEVNULL)
        self.assertNotEqual(out.returncode, 0, "without a token the CLI must fail")
        self.assertIn("HTTP 401: authentication required", out.stderr + out.stdout)

        metrics = call(s, "GET", "/metrics", token=VIEWER_TOKEN)
        self.assertEqual(metrics.status, 200)
        self.assertIn('tocsin_http_auth_failures_total{reason="forbidden"}', metrics.text)

    @unittest.skipUnless(shutil.which("amtool"), "amtool not installed (Debian package prometheus-alertmanager)")
    def test_amtool_with_a_bearer_token(self):
        def amtool(token: str | None, *args: str) -> subprocess.CompletedProcess:
            flags = []
            if token:
                path = os.path.join(self.tmp, f"amtool-{len(token)}-{token[:4]}.yml")
                with open(path, "w") as f:
                    f.write(f"authorization:\n  credentials: {token}\n")
                flags = [f"--http.config.file={path}"]
            env = dict(os.environ, HOME=tempfile.gettempdir())  # no ~/.config/amtool/config.yml
            return subprocess.run([shutil.which("amtool"), f"--alertmanager.url={self.server.base}", *flags, *args],
                                  capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)

        r = amtool(OPS_TOKEN, "alert", "add", "alertname=AuthAmtool", "service=db")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = amtool(VIEWER_TOKEN, "alert", "query", "-o", "json", "alertname=AuthAmtool")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([a["labels"]["alertname"] for a in json.loads(r.stdout)], ["AuthAmtool"])
        r = amtool(VIEWER_TOKEN, "silence", "add", "alertname=AuthAmtool", "--comment=x", "--duration=1h")
        self.assertNotEqual(r.returncode, 0, "a viewer cannot silence")
        self.assertIn("403", r.stderr + r.stdout)
        r = amtool(OPS_TOKEN, "silence", "add", "alertname=AuthAmtool", "--comment=x", "--duration=1h")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = amtool(None, "alert", "query", "-o", "json")
        self.assertNotEqual(r.returncode, 0, "no token, no query")

    def test_session_login_csrf_logout_and_restart(self):
        s = self.server
        inc = self.open_incident_with_intake("auth-2")
        self.assertJsonError(call(s, "POST", "/api/v1/session", {"token": "guess-0123456789abcdef"}), 401,
                             "bad login", field="token")
        r = call(s, "POST", "/api/v1/session", {"token": OPS_TOKEN})
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual((r.json["name"], r.json["role"]), ("ops-cli", "responder"))
        csrf = r.json["csrf_token"]
        set_cookie = r.headers["Set-Cookie"]
        self.assertRegex(set_cookie, r"^tocsin_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/$")
        cookie = {"Cookie": set_cookie.split(";")[0]}

        self.assertEqual(call(s, "GET", "/api/v1/session", headers=cookie).json["csrf_token"], csrf)
        r = call(s, "POST", f"/api/v1/incidents/{inc['id']}/notes", {"text": "from the UI"}, headers=cookie)
        self.assertJsonError(r, 403, "write without CSRF token")
        self.assertIn("CSRF token missing or wrong", r.json["error"])
        with_csrf = dict(cookie, **{"X-CSRF-Token": csrf})
        r = call(s, "POST", f"/api/v1/incidents/{inc['id']}/notes", {"text": "from the UI"}, headers=with_csrf)
        self.assertEqual(r.status, 200, repr(r))

        # The session is in the store: it survives a restart.
        self.assertEqual(s.stop(), 0)
        s.start()
        self.assertEqual(call(s, "GET", "/api/v1/session", headers=cookie).status, 200, "session after restart")
        r = call(s, "DELETE", "/api/v1/session", headers=with_csrf)
        self.assertEqual(r.status, 200, repr(r))
        self.assertIn("Max-Age=0", r.headers["Set-Cookie"])
        self.assertJsonError(call(s, "GET", "/api/v1/session", headers=cookie), 401, "after logout")


class StartRefusedTest(unittest.TestCase):
    def test_a_missing_token_secret_stops_the_start_naming_token_line_and_variable(self):
        tmp = tempfile.mkdtemp(prefix="tocsin-e2e-auth-")
        try:
            config = write_config(tmp, free_port(), "http://127.0.0.1:9/")
            with open(config, "a") as f:
                f.write(AUTH_YAML)
            with open(os.path.join(tmp, "admin.token"), "w") as f:
                f.write(ADMIN_TOKEN)
            env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_E2E_")}
            out = subprocess.run([tocsin_bin(), "serve", "--config", config], capture_output=True, text=True,
                                 timeout=20, env=env, stdin=subprocess.DEVNULL)
            self.assertNotEqual(out.returncode, 0)
            self.assertRegex(out.stderr + out.stdout,
                             r"tocsin\.yaml:\d+: auth token ops-cli token_env: environment variable "
                             r"TOCSIN_E2E_OPS_TOKEN is not set")
            # A secret written in the config is refused by check-config.
            text = open(config).read().replace("token_env: TOCSIN_E2E_OPS_TOKEN", "token: " + OPS_TOKEN)
            with open(config, "w") as f:
                f.write(text)
            out = subprocess.run([tocsin_bin(), "check-config", config], capture_output=True, text=True, timeout=20,
                                 stdin=subprocess.DEVNULL)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("a token's secret must not be written in the config: use token_env", out.stderr + out.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
