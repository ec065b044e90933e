"""End-to-end test harness for tocsin: drives the real binary over HTTP.

Python 3.11, standard library only. Pieces:
  free_port()          a free TCP port on 127.0.0.1 (bind port 0, read it, close)
  write_config(...)    a config dir: tocsin.yaml + plans/system_crash.yaml (SPEC section 4 shape)
  Tocsin               starts `tocsin serve --config FILE [extra args]`, waits for /healthz, stops it
                       (over HTTPS when given an ssl_context: for a config with server.tls)
  WebhookReceiver      a threaded HTTP server recording every POST (path, headers, JSON body)
  http_json(...)       one HTTP request -> Response(status, json, text, headers), 4xx/5xx included
  ServerTestCase       unittest base class that prints the server's log when a test fails
  remote_write_body()  a snappy-compressed prometheus.WriteRequest (hand-written protobuf + snappy)

The binary comes from $TOCSIN_BIN (default: build/src/cli/tocsin in this checkout).
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import http.server
import json
import os
import random
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

DEFAULT_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "src", "cli", "tocsin")

# The rotation in the generated config: weekly, hand-off Monday 09:00 UTC, first shift 2026-01-05.
ROTATION_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
ROTATION_MEMBERS = ["alice", "bob"]
ROTATION_LENGTH = dt.timedelta(days=7)

RULE_FOR_SECONDS = 2.0
THRESHOLD = 0.9


def tocsin_bin() -> str:
    return os.environ.get("TOCSIN_BIN", DEFAULT_BIN)


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_PORT_CLAIMS = os.path.join(tempfile.gettempdir(), "tocsin-e2e-ports")
_PORT_CLAIM_SECONDS = 600


def _claim_port(port: int) -> bool:
    """Claims `port` for this caller for the next 10 minutes: no other free_port() caller, in this
    process or in a test running in parallel, is given it meanwhile (a file created exclusively;
    an older claim has lapsed and is taken over)."""
    os.makedirs(_PORT_CLAIMS, exist_ok=True)
    path = os.path.join(_PORT_CLAIMS, str(port))
    try:
        if time.time() - os.stat(path).st_mtime < _PORT_CLAIM_SECONDS:
            return False
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def free_port() -> int:
    """A loopback port that was free just now, chosen BELOW the kernel's ephemeral range, and
    claimed (_claim_port) so that no test running in parallel is given it too.

    Why not bind(0): the kernel hands out ports from the ephemeral range, which is also where every
    outgoing connection's source port comes from. With tests running in parallel, one of their
    client connections can take the port between this function closing it and the server binding
    it ("address already in use"). Below the range only another free_port() caller can collide.
    Why the claim: two tests starting together both found the same random port free before either
    server bound it (the Alertmanager compatibility and diff tests, 2026-12-06, each then driving
    the other's server); a random choice over ~10,000 ports made that rare, not impossible."""
    lo, _ = _ephemeral_range()
    top = max(lo - 1, 12000)
    for _ in range(100):
        port = random.randint(top - 10000 if top > 11024 else 1025, top)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if _claim_port(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_call_at(t: dt.datetime) -> str | None:
    """Who the generated schedule has on call at t (None before the first shift)."""
    if t < ROTATION_START:
        return None
    n = (t - ROTATION_START) // ROTATION_LENGTH
    return ROTATION_MEMBERS[n % len(ROTATION_MEMBERS)]


def on_call_candidates(t: dt.datetime, slack: dt.timedelta = dt.timedelta(seconds=60)) -> set[str]:
    """The people who may be on call at t, allowing for a hand-off within `slack` of t."""
    return {p for p in (on_call_at(t - slack), on_call_at(t), on_call_at(t + slack)) if p}


def rfc3339(t: dt.datetime) -> str:
    """Formats a time as RFC 3339 UTC to the second, as tocsin prints times."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """Parses an RFC 3339 timestamp (Z or offset, optional fraction)."""
    if not isinstance(text, str):
        raise ValueError(f"expected an RFC 3339 string, got {text!r}")
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return t


# ---------------------------------------------------------------------------------------------
# Config

def write_config(root: str, port: int, receiver_url: str, extra_rules: str = "", extra_steps: str = "") -> str:
    """Writes tocsin.yaml and plans/system_crash.yaml under root; returns the tocsin.yaml path.
    `extra_rules` is YAML appended to the rules list (each line indented by 2 spaces, "- name: …").
    `extra_steps` is YAML appended to the plan's steps (each line indented by 2 spaces, "- id: …");
    "{receiver}" in it stands for the receiver's URL."""
    os.makedirs(os.path.join(root, "plans"), exist_ok=True)
    data_dir = os.path.join(root, "data")
    r = receiver_url.rstrip("/")
    main = f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {data_dir}
  external_url: http://127.0.0.1:{port}
people:
  - id: alice
    name: Alice Zhang
    timezone: UTC
    contact: {{webhook: {r}/alice}}
  - id: bob
    name: Bob Li
    timezone: UTC
    contact: {{webhook: {r}/bob}}
  - id: carol
    name: Carol Diaz
    timezone: UTC
    contact: {{webhook: {r}/carol}}
channels:
  - {{name: ops-hook, type: webhook, url: {r}/hook, format: alertmanager}}
schedules:
  - id: ops-primary
    timezone: UTC
    layers:
      - {{rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}}
escalation_policies:
  - id: ops
    levels:
      - {{after: 0m, notify: ["schedule:ops-primary"]}}
      - {{after: 10m, notify: ["person:carol", "channel:ops-hook"]}}
rules:
  - name: HighLoad
    select: 'system_load{{service="api"}}'
    detector: {{kind: threshold, above: {THRESHOLD}}}
    for: {int(RULE_FOR_SECONDS)}s
    severity: major
    labels: {{incident_type: system_crash}}
    annotations: {{summary: "load {{{{ $value }}}} on {{{{ $labels.instance }}}}"}}
{extra_rules}routes:
  receiver: ops-hook
  group_by: [alertname, service]
  group_wait: 0s
plans:
  - include: plans/*.yaml
"""
    plan = """\
id: system_crash
title: System crash
match: ['incident_type="system_crash"']
severity: critical
escalation: ops
roles:
  commander: "schedule:ops-primary"
  operations: "person:bob"
steps:
  - {id: activate, title: Activate the plan and page responders, owner: commander, due: 30m}
  - {id: triage, title: "Check servers and network, find the failing part", owner: operations, due: 1h}
  - {id: recover, title: Restore the primary and verify service, owner: operations, due: 2h}
""" + extra_steps.replace("{receiver}", r)
    path = os.path.join(root, "tocsin.yaml")
    with open(path, "w") as f:
        f.write(main)
    with open(os.path.join(root, "plans", "system_crash.yaml"), "w") as f:
        f.write(plan)
    return path


# Plan steps as written above: step id -> (owner role, due offset).
PLAN_STEPS = {
    "activate": ("commander", dt.timedelta(minutes=30)),
    "triage": ("operations", dt.timedelta(hours=1)),
    "recover": ("operations", dt.timedelta(hours=2)),
}


# ---------------------------------------------------------------------------------------------
# HTTP client helpers

@dataclass
class Response:
    status: int
    json: Any  # parsed body, or None when the body is not JSON
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        body = self.text if len(self.text) <= 2000 else self.text[:2000] + "…"
        return f"HTTP {self.status} {body!r}"


def http_request(method: str, url: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 10.0,
                 context: ssl.SSLContext | None = None) -> Response:
    """`context`: how to verify an https:// server (None: the system's CAs)."""
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            status, raw, hdrs = resp.status, resp.read(), dict(resp.headers.items())
    except urllib.error.HTTPError as e:
        status, raw, hdrs = e.code, e.read(), dict(e.headers.items()) if e.headers else {}
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return Response(status, parsed, text, hdrs)


def http_json(method: str, url: str, payload: Any = None, raw: bytes | str | None = None,
              timeout: float = 10.0, context: ssl.SSLContext | None = None) -> Response:
    """Sends `payload` as JSON (or `raw` bytes as they are) and returns the Response."""
    headers = {}
    body = None
    if raw is not None:
        body = raw.encode() if isinstance(raw, str) else raw
        headers["Content-Type"] = "application/json"
    elif payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    elif method in ("POST", "PUT"):
        body = b""
    return http_request(method, url, body, headers, timeout, context)


def raw_post_huge(host: str, port: int, path: str, size: int, chunk: int = 1 << 20,
                  timeout: float = 20.0) -> tuple[int | None, str]:
    """POSTs `size` bytes of a JSON-ish body over a raw socket. Stops sending as soon as the server
    answers (a server may reply 413 after the headers and close). Returns (status, response text);
    status None when no HTTP response could be read."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
        sock.sendall(head)
        block = b"[" + b" " * (chunk - 1)
        sent = 0
        try:
            while sent < size:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server has answered already
                n = min(chunk, size - sent)
                sock.sendall(block[:n] if sent == 0 else b" " * n)
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
                if b"\r\n\r\n" in data:
                    head_part, _, rest = data.partition(b"\r\n\r\n")
                    length = None
                    for line in head_part.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v.strip())
                    if length is not None and len(rest) >= length:
                        break
        except (ConnectionResetError, socket.timeout):
            pass
        if not data.startswith(b"HTTP/"):
            return None, data.decode("latin-1")
        status = int(data.split(b" ", 2)[1])
        return status, data.partition(b"\r\n\r\n")[2].decode("utf-8", errors="replace")
    finally:
        sock.close()


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls pred() until it returns a truthy value (returned) or the deadline passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The server under test

class ServerError(AssertionError):
    pass


class Tocsin:
    """One `tocsin serve` process over a config dir. stdout/stderr go to a log file in the dir."""

    def __init__(self, config_path: str, port: int, binary: str | None = None,
                 serve_args: list[str] | None = None, ssl_context: ssl.SSLContext | None = None):
        self.config_path = config_path
        self.port = port
        self.binary = binary or tocsin_bin()
        self.serve_args = list(serve_args or [])  # after `serve --config FILE`, e.g. --simulated-clock T
        # Set: the config has server.tls; requests go over HTTPS, verified with this context.
        self.ssl_context = ssl_context
        self.base = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
        self.log_path = os.path.join(os.path.dirname(config_path), "server.log")
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        if not os.path.exists(self.binary):
            raise ServerError(f"tocsin binary not found at {self.binary} (set TOCSIN_BIN)")
        self.starts += 1
        log = open(self.log_path, "ab")
        command = [self.binary, "serve", "--config", self.config_path, *self.serve_args]
        log.write(f"\n===== start #{self.starts}: {' '.join(command[1:])}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(command,
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerError(f"tocsin serve exited with code {rc} before /healthz answered.\n"
                                  f"--- server log ---\n{self.log_tail()}")
            try:
                r = http_request("GET", self.base + "/healthz", timeout=1.0, context=self.ssl_context)
                if r.status == 200:
                    return
                last = repr(r)
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError) as e:
                last = str(e)
            time.sleep(0.05)
        self.kill()
        raise ServerError(f"GET /healthz did not return 200 within {timeout}s (last: {last}).\n"
                          f"--- server log ---\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM; waits; returns the exit code (SIGKILL and raise when it does not exit)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise ServerError(f"tocsin did not exit within {timeout}s of SIGTERM.\n"
                                  f"--- server log ---\n{self.log_tail()}")
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, max_chars: int = 12000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no server log)"
        text = data.decode("utf-8", errors="replace")
        return text if len(text) <= max_chars else "…" + text[-max_chars:]

    # -- HTTP -------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, timeout: float = 10.0) -> Response:
        return http_json("GET", self.url(path), timeout=timeout, context=self.ssl_context)

    def post(self, path: str, payload: Any = None, raw: bytes | str | None = None,
             timeout: float = 10.0) -> Response:
        return http_json("POST", self.url(path), payload=payload, raw=raw, timeout=timeout, context=self.ssl_context)

    def put(self, path: str, payload: Any = None, raw: bytes | str | None = None,
            timeout: float = 10.0) -> Response:
        return http_json("PUT", self.url(path), payload=payload, raw=raw, timeout=timeout, context=self.ssl_context)

    def push(self, samples: list[dict]) -> Response:
        return self.post("/api/v1/push", samples)

    def incidents(self) -> list[dict]:
        r = self.get("/api/v1/incidents")
        if r.status != 200 or not isinstance(r.json, dict) or not isinstance(r.json.get("incidents"), list):
            raise AssertionError(f"GET /api/v1/incidents: expected 200 with {{\"incidents\": [...]}}, got {r!r}")
        return r.json["incidents"]

    def cli(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# Webhook receiver

@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    at: float  # time.time() on arrival


class _RecorderServer(http.server.ThreadingHTTPServer):
    # The default listen backlog (5) overflows when many senders connect at once (e.g. several
    # Alertmanager groups flushing on the same tick); the kernel then drops the SYN and the client
    # retries a whole second later, which shows up as a late notification.
    request_queue_size = 128


class WebhookReceiver:
    """Records every POST; answers 200 {}."""

    def __init__(self):
        self.records: list[Received] = []
        self.refused: list[Received] = []  # POSTs answered fail_status because of fail_next
        self.fail_next: dict[str, int] = {}  # path -> how many more POSTs to answer with fail_status
        self.fail_status = 500
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                rec = Received(self.path, dict(self.headers.items()), body, parsed, time.time())
                with receiver._cond:
                    if receiver.fail_next.get(self.path, 0) > 0:
                        receiver.fail_next[self.path] -= 1
                        receiver.refused.append(rec)
                        receiver._cond.notify_all()
                        self.send_response(receiver.fail_status)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    receiver.records.append(rec)
                    receiver._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_PUT(self):  # noqa: N802
                self.do_POST()

            def log_message(self, *args):
                pass

        self.server = _RecorderServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self, path: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.records if path is None or r.path == path]

    def wait_for(self, path: str | Callable[[str], bool], n: int = 1, timeout: float = 10.0,
                 refused: bool = False) -> list[Received]:
        """Waits until at least n POSTs to `path` (or paths matching a predicate) arrived; returns
        them all (possibly fewer than n on timeout). With `refused`: those answered fail_status."""
        match = path if callable(path) else (lambda p, want=path: p == want)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in (self.refused if refused else self.records) if match(r.path)]
                left = deadline - time.monotonic()
                if len(got) >= n or left <= 0:
                    return got
                self._cond.wait(min(left, 0.1))

    def describe(self) -> str:
        with self._cond:
            if not self.records:
                return "(the receiver got nothing)"
            return "\n".join(f"  POST {r.path}: {r.body[:500]!r}" for r in self.records)


# ---------------------------------------------------------------------------------------------
# unittest base

class LogsOnFailure(unittest.TestCase):
    """When a test fails, prints the servers' logs and what the webhook receiver got (by default
    the class's `server` and `receiver`, where it has them; a subclass with other servers
    overrides `servers_to_show`)."""

    log_chars = 12000  # of each server's log

    def servers_to_show(self):
        """(name, Tocsin) pairs whose logs a failure prints."""
        server = getattr(self, "server", None)
        return [("server", server)] if server is not None else []

    def run(self, result=None):
        if result is None:
            return super().run(result)
        bad_before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > bad_before:
            for name, server in self.servers_to_show():
                sys.stderr.write(f"\n--- tocsin {name} log ({self.id()}) ---\n{server.log_tail(self.log_chars)}\n")
            receiver = getattr(self, "receiver", None)
            if receiver is not None:
                sys.stderr.write(f"--- webhook receiver ---\n{receiver.describe()}\n")
        return out


class ServerTestCase(LogsOnFailure):
    """Starts a receiver and one server per test class; prints the server log when a test fails."""

    server: Tocsin
    receiver: WebhookReceiver
    tmp: str
    extra_rules: str = ""  # YAML rules a subclass adds to the generated config
    serve_args: list[str] = []  # extra `tocsin serve` arguments, e.g. ["--simulated-clock", T]
    extra_steps: str = ""  # YAML plan steps a subclass adds to the generated plan (see write_config)

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-")
        cls.receiver = WebhookReceiver()
        cls.port = free_port()
        cls.config_path = write_config(cls.tmp, cls.port, cls.receiver.url, cls.extra_rules, cls.extra_steps)
        cls.prepare()
        cls.server = Tocsin(cls.config_path, cls.port, serve_args=cls.serve_args, ssl_context=cls.client_context())
        try:
            cls.server.start()
        except BaseException:
            cls.receiver.close()
            raise

    @classmethod
    def prepare(cls):
        """A hook between writing the config and starting the server: files the config names,
        edits of cls.config_path. Nothing by default."""

    @classmethod
    def client_context(cls) -> ssl.SSLContext | None:
        """The TLS context the test client uses (for a config with server.tls); None = plain HTTP."""
        return None

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server.alive():
                rc = cls.server.stop()
                if rc != 0:
                    sys.stderr.write(f"\ntocsin exited with code {rc} on SIGTERM (expected 0)\n"
                                     f"--- server log ---\n{cls.server.log_tail()}\n")
                    raise AssertionError(f"tocsin exited with code {rc} on SIGTERM, expected 0")
        finally:
            cls.receiver.close()
            if os.environ.get("TOCSIN_E2E_KEEP"):
                sys.stderr.write(f"\nkept {cls.tmp}\n")
            else:
                shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------
    def assertJsonError(self, r: Response, status: int | tuple[int, ...], what: str,
                        field: str | None = None):
        """A 4xx with {"error": "..."}; when `field` is given, "field" must contain it."""
        statuses = status if isinstance(status, tuple) else (status,)
        self.assertIn(r.status, statuses, f"{what}: expected HTTP {statuses}, got {r!r}")
        self.assertIsInstance(r.json, dict, f"{what}: expected a JSON object body, got {r!r}")
        self.assertIsInstance(r.json.get("error"), str, f"{what}: expected an \"error\" string, got {r!r}")
        self.assertTrue(r.json["error"].strip(), f"{what}: empty error message: {r!r}")
        if field is not None:
            self.assertIsInstance(r.json.get("field"), str, f"{what}: expected a \"field\" naming {field!r}, got {r!r}")
            self.assertIn(field, r.json["field"], f"{what}: \"field\" should name {field!r}, got {r!r}")

    def advance(self, by: str) -> dt.datetime:
        """Moves a --simulated-clock server's clock on by `by` (e.g. "5m"); returns its new time."""
        r = self.server.post("/api/v1/clock/advance", {"by": by})
        self.assertEqual(r.status, 200, f"advance by {by}: {r!r}")
        return parse_time(r.json["now"])

    def act(self, path: str, body: dict) -> dict:
        """POSTs `body` to `path`, which must answer 200; returns the JSON answer."""
        r = self.server.post(path, body)
        self.assertEqual(r.status, 200, f"POST {path}: {r!r}")
        return r.json

    def wait_incidents(self, pred: Callable[[list[dict]], bool], timeout: float, what: str) -> list[dict]:
        last: list[Any] = [None]

        def probe():
            last[0] = self.server.incidents()
            return pred(last[0])

        if not wait_until(probe, timeout, interval=0.05):
            self.fail(f"{what}: not within {timeout}s; last GET /api/v1/incidents: "
                      f"{json.dumps(last[0], indent=1)[:4000]}")
        return last[0]

    def wait_incident(self, iid: str, pred: Callable[[dict], bool], timeout: float, what: str) -> dict:
        last: list[Any] = [None]

        def probe():
            r = self.server.get(f"/api/v1/incidents/{iid}")
            last[0] = r
            return r.status == 200 and isinstance(r.json, dict) and pred(r.json)

        if not wait_until(probe, timeout, interval=0.05):
            self.fail(f"{what}: not within {timeout}s; last GET /api/v1/incidents/{iid}: {last[0]!r}")
        return last[0].json

    def open_incident(self, instance: str = "h1") -> tuple[dict, float]:
        """Pushes one crossing sample and waits for the incident; returns (incident, push time)."""
        t0 = time.time()
        r = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": instance},
                               "value": 0.95}])
        self.assertEqual(r.status // 100, 2, f"push of a crossing sample: {r!r}")
        incs = self.wait_incidents(
            lambda l: any(instance == (a.get("labels") or {}).get("instance")
                          for i in l for a in (i.get("alerts") or [])),
            RULE_FOR_SECONDS + 8, f"an incident for instance {instance}")
        inc = next(i for i in incs for a in (i.get("alerts") or [])
                   if (a.get("labels") or {}).get("instance") == instance)
        return inc, t0


# ---------------------------------------------------------------------------------------------
# Remote write bodies: a tiny protobuf encoder and a snappy compressor (stdlib has no snappy)

def _pb_varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # int64 as two's complement, as protobuf encodes it
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _pb_bytes(field: int, payload: bytes) -> bytes:
    return _pb_varint(field << 3 | 2) + _pb_varint(len(payload)) + payload


def encode_write_request(series: list[tuple[dict[str, str], list[tuple[float, int]]]]) -> bytes:
    """A prometheus.WriteRequest: [(labels incl. __name__, [(value, ts_ms), ...]), ...]."""
    import struct
    out = b""
    for labels, samples in series:
        body = b""
        for name, value in labels.items():
            body += _pb_bytes(1, _pb_bytes(1, name.encode()) + _pb_bytes(2, value.encode()))
        for value, ts in samples:
            body += _pb_bytes(2, _pb_varint(1 << 3 | 1) + struct.pack("<d", value) + _pb_varint(2 << 3) + _pb_varint(ts))
        out += _pb_bytes(1, body)
    return out


def snappy_compress(data: bytes) -> bytes:
    """Valid snappy block format made of literals only (no back-references), so no compression:
    the uncompressed length as a varint, then literal elements — up to 60 bytes with the length in
    the tag byte ((len-1) << 2), longer ones (up to 65536) with tag 61 << 2 and a 2-byte length."""
    out = bytearray(_pb_varint(len(data)))
    i = 0
    while i < len(data):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        else:
            out.append(61 << 2)
            out += n.to_bytes(2, "little")
        out += chunk
        i += len(chunk)
    return bytes(out)


def remote_write_body(series: list[tuple[dict[str, str], list[tuple[float, int]]]]) -> bytes:
    return snappy_compress(encode_write_request(series))


# ---------------------------------------------------------------------------------------------
# SMTP sink (aiosmtpd, Debian: python3-aiosmtpd)

def aiosmtpd_python() -> str | None:
    """An interpreter that can import aiosmtpd, or None."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and os.path.exists(candidate):
            if subprocess.run([candidate, "-c", "import aiosmtpd"], capture_output=True).returncode == 0:
                return candidate
    return None


class SmtpSink:
    """smtp_sink.py on a free port, saving every mail under `directory`. Raises
    unittest.SkipTest when aiosmtpd is missing. With hang=True, an SMTP server that accepts
    connections and never answers (no aiosmtpd needed); connections() tells what it saw."""

    def __init__(self, directory: str, hang: bool = False):
        python = sys.executable if hang else aiosmtpd_python()
        if python is None:
            raise unittest.SkipTest("aiosmtpd is not installed (Debian: apt-get install python3-aiosmtpd)")
        self.dir = directory
        self.port = free_port()
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen([python, os.path.join(here, "smtp_sink.py"), "--port", str(self.port),
                                      "--dir", directory] + (["--hang"] if hang else []),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            raise AssertionError(f"the SMTP sink did not start: {line} {self.proc.stdout.read()}")

    def messages(self) -> list[tuple[dict, email.message.EmailMessage]]:
        """(envelope, message) for every mail received so far, in arrival order."""
        out = []
        if not os.path.isdir(self.dir):
            return out
        for name in sorted(os.listdir(self.dir), key=lambda n: (len(n), n)):
            if not name.endswith(".eml"):
                continue
            with open(os.path.join(self.dir, name[:-4] + ".json")) as f:
                envelope = json.load(f)
            with open(os.path.join(self.dir, name), "rb") as f:
                out.append((envelope, email.message_from_bytes(f.read(), policy=email.policy.default)))
        return out

    def connections(self) -> list[tuple[float, float | None]]:
        """--hang only: (accepted at, closed at or None) for each connection, in order."""
        out = []
        for n in range(1, 10_000):
            conn = os.path.join(self.dir, f"{n}.conn")
            if not os.path.exists(conn):
                break
            closed = os.path.join(self.dir, f"{n}.closed")
            with open(conn) as f:
                accepted = float(f.read() or 0)
            closed_at = None
            if os.path.exists(closed):
                with open(closed) as f:
                    closed_at = float(f.read() or 0)
            out.append((accepted, closed_at))
        return out

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
