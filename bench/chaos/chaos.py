"""Crash safety under load: SIGKILL `tocsin serve` at random moments while clients write, and
check that every write that got a 2xx survived and that every due page went out exactly once.

Python 3, standard library only; it reuses tests/e2e/harness.py (the server process, free
ports, remote_write bodies). `bench/chaos/run --help` for the options;
docs/benchmarks.md ("Crash safety under load") for what is measured and the figures.

What runs:
  - one `tocsin serve` on SQLite in a temporary data dir, real clock, with a plan whose escalation
    pages alice, bob and carol (webhooks to the receiver below) 0 s, 1 s and 2 s after an incident
    opens, and once more 4 s later (a second pass), and a rule on the pushed samples;
  - a recording webhook receiver (in this process, so it keeps running across kills) that
    answers a seeded share of pages with HTTP 500, so that they wait for retries;
  - writers: Alertmanager v2 alert posts (new alerts, each opening an incident, and re-sends with
    a later endsAt), samples (POST /api/v1/push and remote_write), notes and acknowledgements;
  - the killer: waits a uniform random delay (seeded), SIGKILLs the server, restarts it on the
    same data dir and waits for /readyz, N times; some kills land in a SIGTERM shutdown, and
    some restarts are killed within 200 ms of starting.

What is checked:
  - after every restart: the alerts (all of them: one GET), and the samples, notes and
    acknowledgements acknowledged in the seconds before the kill (the writes most at risk);
  - at the end, after the ladders ran out and the retries were sent: every acknowledged write of every kind, and the pages,
    from the store (the incidents' timelines over the API, the notifications table of the
    SQLite file after a clean stop) and from the receiver's recording.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.server
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import harness  # noqa: E402  (after the path above)

# The escalation ladder of the chaos plan: level number -> (seconds after the pass starts, person).
LEVELS = {1: (0.0, "alice"), 2: (1.0, "bob"), 3: (2.0, "carol")}
PASSES = 2            # repeat: 1
REPEAT_EVERY = 4.0    # seconds, the length of a pass
LADDER_SECONDS = REPEAT_EVERY * (PASSES - 1) + max(after for after, _ in LEVELS.values())
# A step that was due while the server was up this long, before the incident was acknowledged,
# must have paged (the engine wakes at the step's time; this is slack for a loaded machine).
DUE_SLACK = 1.5
SAMPLE_THRESHOLD = 0.97
SAMPLES_PER_SERIES = 400  # a new series ("chunk") after this many, so no series is thinned (1000)
STARTUP_KILL_SHARE = 0.1  # restarts that are first killed 0–200 ms after the process starts
RETRIES_SETTLE = 180.0    # seconds the end waits for pages still waiting for a retry
SHUTDOWN_KILL_SHARE = 0.1  # kills that are a SIGTERM and, 0–50 ms into the shutdown, a SIGKILL
KILL_STAMP_SLACK = 1.0     # seconds a delivery's arrival stamp may trail the kill of its sender
RECENT_WINDOW = 5.0       # seconds before a kill whose writes are checked right after the restart


def write_chaos_config(root: str, port: int, receiver_url: str) -> str:
    os.makedirs(os.path.join(root, "plans"), exist_ok=True)
    r = receiver_url.rstrip("/")
    people = "".join(f"""\
  - id: {person}
    name: {person.title()}
    timezone: UTC
    contact: {{webhook: {r}/{person}}}
""" for _, person in LEVELS.values())
    levels = "".join(f"""\
      - {{after: {int(after * 1000)}ms, notify: ["person:{person}"]}}
""" for after, person in LEVELS.values())
    main = f"""\
server:
  listen: 127.0.0.1:{port}
  data_dir: {os.path.join(root, "data")}
  external_url: http://127.0.0.1:{port}
people:
{people}escalation_policies:
  - id: chaos
    repeat: {PASSES - 1}
    repeat_every: {int(REPEAT_EVERY * 1000)}ms
    levels:
{levels}rules:
  - name: ChaosLoad
    select: 'chaos_load'
    detector: {{kind: threshold, above: {SAMPLE_THRESHOLD}}}
    for: 0s
    severity: major
    labels: {{incident_type: chaos, service: chaos-rule}}
routes:
  receiver: none
  group_by: [alertname, service]
  group_wait: 0s
channels:
  - {{name: none, type: webhook, url: {r}/route}}
plans:
  - include: plans/*.yaml
"""
    plan = """\
id: chaos
title: Chaos
match: ['incident_type="chaos"']
severity: critical
escalation: chaos
roles:
  commander: "person:alice"
steps:
  - {id: look, title: Look at it, owner: commander, due: 30m}
"""
    path = os.path.join(root, "tocsin.yaml")
    with open(path, "w") as f:
        f.write(main)
    with open(os.path.join(root, "plans", "chaos.yaml"), "w") as f:
        f.write(plan)
    return path


class FlakyReceiver:
    """Records every webhook POST (harness.Received); answers a seeded random share of them with
    HTTP 500 instead (kept in `refused`), so that pages wait for their retries across kills."""

    def __init__(self, fail_share: float, seed: int):
        self.records: list[harness.Received] = []
        self.refused: list[harness.Received] = []
        self.fail_share = fail_share
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    return  # cut off by a kill: not a delivery
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                rec = harness.Received(self.path, dict(self.headers.items()), body, parsed, time.time())
                with receiver.lock:
                    refuse = receiver.rng.random() < receiver.fail_share
                    (receiver.refused if refuse else receiver.records).append(rec)
                status = 500 if refuse else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = harness._RecorderServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # tocsin killed with a kept-alive connection open: the read fails; expected.
        self.server.handle_error = lambda request, address: None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[harness.Received]:
        with self.lock:
            return list(self.records)

    def describe(self) -> str:
        with self.lock:
            return "\n".join(f"  POST {r.path} id {r.headers.get('X-Tocsin-Notification-Id')}" for r in self.records)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rfc3339_ms(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------------------------------------
# What the clients were told

@dataclass
class Acked:
    """Every write that got a 2xx, with the time the answer arrived. Guarded by `lock`."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    alerts: dict[str, float] = field(default_factory=dict)           # alertname -> latest acked endsAt (unix s)
    alert_at: dict[str, float] = field(default_factory=dict)         # alertname -> when its first post was acked
    resends: list[tuple[float, str, float]] = field(default_factory=list)  # (acked at, alertname, endsAt)
    samples: list[tuple[float, str, str, int, float, str, str]] = field(default_factory=list)
    # (acked at, writer, chunk, ts ms, value, "push"|"remote_write", the replica that acked it: "" for one server)
    notes: list[tuple[float, str, str]] = field(default_factory=list)  # (acked at, incident id, text)
    acks: list[tuple[float, str, str]] = field(default_factory=list)   # (acked at, incident id, actor)
    attempts: collections.Counter = field(default_factory=collections.Counter)  # kind -> requests sent
    refused: collections.Counter = field(default_factory=collections.Counter)   # "kind status" -> non-2xx answers
    errors: collections.Counter = field(default_factory=collections.Counter)    # kind -> no answer


class Chaos:
    def __init__(self, binary: str, kills: int, seed: int, min_delay: float, max_delay: float,
                 keep: bool, log=print, fail_share: float = 0.1):
        self.init_state(kills, seed, min_delay, max_delay, keep, log, fail_share, "tocsin-chaos-")
        self.port = harness.free_port()
        self.config_path = write_chaos_config(self.tmp, self.port, self.receiver.url)
        self.server = harness.Tocsin(self.config_path, self.port, binary=binary)

    def init_state(self, kills: int, seed: int, min_delay: float, max_delay: float, keep: bool, log,
                   fail_share: float, prefix: str) -> None:
        """What the single-server run and the replicas' run (bench/chaos/ha.py) share: the
        receiver, the record of acknowledged writes, the losses found."""
        self.kills = kills
        self.rng = random.Random(seed)
        self.seed = seed
        self.min_delay, self.max_delay = min_delay, max_delay
        self.keep = keep
        self.log = log
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.receiver = FlakyReceiver(fail_share, seed)
        self.due_slack = DUE_SLACK
        self.kill_stamp_slack = KILL_STAMP_SLACK
        self.acked = Acked()
        self.stop_load = threading.Event()
        self.up: list[list[float]] = []   # [ready at, killed at] per life of the server
        self.incident_ids: list[str] = []  # known incidents, for notes and acks
        self.ids_lock = threading.Lock()
        self.losses: dict[str, list[str]] = collections.defaultdict(list)  # kind -> what was lost
        self.checked_after_restart: collections.Counter = collections.Counter()
        self.restart_seconds: list[float] = []
        self.kills_during_shutdown = 0
        self.kills_during_startup = 0  # extra kills, on top of `kills`
        self.startup_kill_times: list[float] = []  # a process killed there may have sent pages already
        self.rule_alerts_checked = 0
        self.shutdowns_finished = 0  # of those, how many had exited cleanly before the SIGKILL

    # -- server lifecycle -------------------------------------------------------------------
    def start_server(self) -> None:
        t0 = time.monotonic()
        self.server.start(timeout=60)
        ok = harness.wait_until(lambda: self.get("/readyz").status == 200, 60)
        if not ok:
            raise harness.ServerError(f"/readyz did not answer 200 within 60 s\n{self.server.log_tail()}")
        self.restart_seconds.append(time.monotonic() - t0)
        self.up.append([time.time(), float("inf")])

    def kill_server(self, during_shutdown: float | None = None) -> None:
        """SIGKILL; with `during_shutdown` (seconds), SIGTERM first and SIGKILL that much later, in
        the middle of the clean shutdown (which saves the rule state and the series snapshot)."""
        if during_shutdown is not None and self.server.proc is not None:
            self.server.proc.send_signal(signal.SIGTERM)
            time.sleep(during_shutdown)
            if self.server.proc.poll() is not None:
                self.shutdowns_finished += 1
        self.server.kill()
        self.up[-1][1] = time.time()

    def get(self, path: str) -> harness.Response:
        return self.get_from(self.server, path)

    @staticmethod
    def get_from(server: harness.Tocsin, path: str) -> harness.Response:
        try:
            return harness.http_json("GET", server.url(path), timeout=20)
        except (urllib.error.URLError, OSError) as e:
            return harness.Response(0, None, str(e))

    def targets(self) -> list[harness.Tocsin]:
        """Where a write goes, in order: the next one is tried when one gives no answer."""
        return [self.server]

    def kill_times(self) -> list[float]:
        """When a process that may have been sending pages was SIGKILLed."""
        return [e for _, e in self.up] + self.startup_kill_times

    def spawn_and_kill(self, after: float) -> None:
        """Starts the server and SIGKILLs it `after` seconds later, whatever it is doing then
        (opening the store, replaying the sample log, or serving already)."""
        with open(self.server.log_path, "ab") as log:
            log.write(f"\n===== start killed after {after:.3f} s\n".encode())
            log.flush()
            proc = subprocess.Popen([self.server.binary, "serve", "--config", self.config_path],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        time.sleep(after)
        proc.kill()
        proc.wait()
        self.startup_kill_times.append(time.time())

    def pending_notifications(self) -> int | None:
        """Notifications of incidents not yet sent and not given up, from tocsin.db (read-only:
        WAL lets a reader in beside the server). None when it cannot be read."""
        try:
            db = sqlite3.connect(f"file:{os.path.join(self.tmp, 'data', 'tocsin.db')}?mode=ro", uri=True, timeout=5)
            try:
                return db.execute("SELECT count(*) FROM notifications WHERE status = 'pending' "
                                  "AND incident_id IS NOT NULL").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return None

    def wait_for_deliveries(self, timeout: float) -> None:
        """Until no page waits for a retry (receivers' 500s back off 5 s, 10 s, 20 s, …)."""
        harness.wait_until(lambda: self.pending_notifications() == 0, timeout, interval=0.5)

    # -- writers ----------------------------------------------------------------------------
    def send(self, kind: str, method: str, path: str, payload=None, raw: bytes | None = None,
             headers: dict | None = None) -> harness.Response | None:
        """One request; None when no answer came (the server was being killed or restarting)."""
        r = None
        for server in self.targets():
            self.acked.attempts[kind] += 1  # Counter updates from several threads: only ever read at the end
            try:
                if raw is not None:
                    r = harness.http_request(method, server.url(path), raw, headers, timeout=10)
                else:
                    r = harness.http_json(method, server.url(path), payload=payload, timeout=10)
            except (urllib.error.URLError, OSError, ValueError):
                self.acked.errors[kind] += 1
                continue
            r.where = getattr(server, "name", "")  # which server answered (a replica's name)
            break
        if r is not None and r.status // 100 != 2:
            self.acked.refused[f"{kind} {r.status}"] += 1
        return r

    def alert_writer(self, rng: random.Random) -> None:
        n = 0
        while not self.stop_load.is_set():
            with self.acked.lock:
                known = list(self.acked.alerts)
            if known and rng.random() < 0.5:
                name, kind = rng.choice(known), "alert_resend"
            else:
                n += 1
                name, kind = f"Chaos{n}", "alert"
            # endsAt an hour or so ahead and growing with every post, so a re-send is visible.
            ends = int(time.time()) + 3600 + n
            alert = {"labels": {"alertname": name, "service": "chaos", "incident_type": "chaos"},
                     "annotations": {"summary": f"chaos alert {name}"},
                     "startsAt": rfc3339_ms(time.time() - 1), "endsAt": rfc3339_ms(ends),
                     "generatorURL": "http://chaos.invalid/"}
            r = self.send(kind, "POST", "/api/v2/alerts", [alert])
            if r is not None and r.status // 100 == 2:
                now = time.time()
                with self.acked.lock:
                    self.acked.alerts[name] = max(self.acked.alerts.get(name, 0), ends)
                    self.acked.alert_at.setdefault(name, now)
                    if kind == "alert_resend":
                        self.acked.resends.append((now, name, ends))
            time.sleep(rng.uniform(0.2, 0.5))

    def sample_writer(self, writer: str, rng: random.Random) -> None:
        ts = int(time.time() * 1000)
        count = 0
        while not self.stop_load.is_set():
            batch = []
            for _ in range(5):
                ts = max(ts + 1, int(time.time() * 1000))
                # Mostly below the rule's threshold; now and then a crossing fires an alert.
                value = round(rng.uniform(0, 1.0), 6)
                batch.append((f"c{count // SAMPLES_PER_SERIES}", ts, value))
                count += 1
            if rng.random() < 0.5:
                kind = "push"
                r = self.send("sample", "POST", "/api/v1/push",
                              [{"name": "chaos_load", "labels": {"writer": writer, "chunk": c}, "value": v, "ts": t}
                               for c, t, v in batch])
            else:
                kind = "remote_write"
                body = harness.remote_write_body(
                    [({"__name__": "chaos_load", "writer": writer, "chunk": c}, [(v, t)]) for c, t, v in batch])
                r = self.send("sample", "POST", "/api/v1/write", raw=body,
                              headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                                       "X-Prometheus-Remote-Write-Version": "0.1.0"})
            if r is not None and r.status // 100 == 2:
                now = time.time()
                with self.acked.lock:
                    self.acked.samples.extend((now, writer, c, t, v, kind, r.where) for c, t, v in batch)
            time.sleep(rng.uniform(0.02, 0.08))

    def action_writer(self, rng: random.Random) -> None:
        n = 0
        last_refresh = 0.0
        acked_by_us: set[str] = set()
        while not self.stop_load.is_set():
            if time.monotonic() - last_refresh > 1.0:
                r = self.get("/api/v1/incidents?limit=40&status=triggered")
                if r.status == 200:
                    with self.ids_lock:
                        self.incident_ids = [i["id"] for i in r.json["incidents"]]
                    last_refresh = time.monotonic()
            with self.ids_lock:
                ids = list(self.incident_ids)
            if not ids:
                time.sleep(0.2)
                continue
            iid = rng.choice(ids)
            n += 1
            if iid not in acked_by_us and rng.random() < 0.12:
                actor = f"chaos-{n}"
                r = self.send("ack", "POST", f"/api/v1/incidents/{iid}/ack", {"actor": actor})
                if r is not None and r.status // 100 == 2:
                    acked_by_us.add(iid)
                    with self.acked.lock:
                        self.acked.acks.append((time.time(), iid, actor))
            else:
                text = f"chaos note {n} seed {self.seed}"
                r = self.send("note", "POST", f"/api/v1/incidents/{iid}/notes", {"actor": "chaos", "text": text})
                if r is not None and r.status // 100 == 2:
                    with self.acked.lock:
                        self.acked.notes.append((time.time(), iid, text))
            time.sleep(rng.uniform(0.05, 0.2))

    # -- checks -----------------------------------------------------------------------------
    def lose(self, kind: str, what: str) -> None:
        if what not in self.losses[kind]:
            self.losses[kind].append(what)
            self.log(f"LOST {kind}: {what}")

    def check_alerts(self, server: harness.Tocsin | None = None, before: float = float("inf")) -> None:
        """Every acknowledged alert is active, with an endsAt no earlier than its last acked one;
        through `server` (default: self.get's), and only the writes acknowledged before `before`
        (a replica lists what it loaded from the store at its start, and what it received since)."""
        r = self.get_from(server, "/api/v2/alerts") if server is not None else self.get("/api/v2/alerts")
        if r.status != 200:
            self.lose("check", f"GET /api/v2/alerts answered {r!r}")
            return
        stored = {a["labels"]["alertname"]: harness.parse_time(a["endsAt"]).timestamp() for a in r.json}
        with self.acked.lock:
            want = {name: ends for name, ends in self.acked.alerts.items()
                    if self.acked.alert_at.get(name, 0.0) < before}
            resends = [x for x in self.acked.resends if x[0] < before]
        for name, ends in want.items():
            if name not in stored:
                self.lose("alert", f"{name} (acknowledged, not in GET /api/v2/alerts)")
        latest_resend: dict[str, float] = {}
        for _, name, ends in resends:
            latest_resend[name] = max(latest_resend.get(name, 0), ends)
        for name, ends in latest_resend.items():
            if name in stored and stored[name] + 0.001 < ends:
                self.lose("alert_resend", f"{name}: endsAt {rfc3339_ms(stored[name])}, a re-send with "
                                          f"{rfc3339_ms(ends)} was acknowledged")
        self.checked_after_restart["alert"] += len(want)

    def check_alerts_opened_incidents(self, incidents: list[dict]) -> None:
        """Every acknowledged new alert matched the plan: it is on an incident."""
        on_incidents = {(a.get("labels") or {}).get("alertname") for i in incidents for a in i.get("alerts") or []}
        with self.acked.lock:
            names = list(self.acked.alert_at)
        for name in names:
            if name not in on_incidents:
                self.lose("alert", f"{name} (acknowledged, on no incident)")

    def check_rule_alerts(self, incidents: list[dict]) -> None:
        """A push answered 2xx has made its alerts and incidents durable too: every series with an
        acknowledged sample above the rule's threshold fired, and its alert is on an incident."""
        fired = {((a.get("labels") or {}).get("writer"), (a.get("labels") or {}).get("chunk"))
                 for i in incidents for a in i.get("alerts") or []
                 if (a.get("labels") or {}).get("alertname") == "ChaosLoad"}
        with self.acked.lock:
            crossing = {}
            for _, writer, chunk, t, v, kind, _ in self.acked.samples:
                if v > SAMPLE_THRESHOLD:
                    crossing.setdefault((writer, chunk), (t, v, kind))
        for (writer, chunk), (t, v, kind) in crossing.items():
            if (writer, chunk) not in fired:
                self.lose("rule_alert", f"chaos_load{{writer={writer},chunk={chunk}}}: sample {v} at {t} ({kind}) "
                                        f"above {SAMPLE_THRESHOLD}, no ChaosLoad alert on any incident")
        self.rule_alerts_checked = len(crossing)

    def server_named(self, name: str) -> harness.Tocsin:
        return self.server

    def sample_holders(self, at: str) -> tuple[list[harness.Tocsin], bool]:
        """Where a sample acknowledged by `at` may be stored, and whether all of those can be asked
        now (if not, a sample found on none of them is not counted as lost)."""
        return [self.server_named(at)], True

    def check_samples(self, since: float = 0.0, where: str | None = None) -> int:
        """Samples acknowledged after `since` (unix s) are stored with their value, on the server
        that acknowledged them or, with several replicas, on whichever owns their series (samples
        live in a replica's data_dir, not in the shared store); with `where`, only those that
        replica acknowledged. Returns how many were checked."""
        with self.acked.lock:
            want = [s for s in self.acked.samples if s[0] >= since and (where is None or s[6] == where)]
        if not want:
            return 0
        start = min(s[3] for s in want) - 1
        end = max(s[3] for s in want) + 1
        by_writer: dict[tuple[str, str], list] = collections.defaultdict(list)
        for s in want:
            by_writer[(s[6], s[1])].append(s)
        for (at, writer), samples in by_writer.items():
            q = urllib.parse.urlencode({"match": f'chaos_load{{writer="{writer}"}}', "start": start, "end": end,
                                        "limit": 1000})
            holders, complete = self.sample_holders(at)
            stored: dict[tuple[str, int], float] = {}
            for holder in holders:
                r = self.get_from(holder, f"/api/v1/series?{q}")
                if r.status != 200:
                    self.lose("check", f"GET /api/v1/series for {writer} {at} answered {r!r}")
                    continue
                for series in r.json["series"]:
                    if series.get("thinned"):
                        self.lose("check", f"series {series['labels']} came back thinned: cannot check it")
                    for t, v in series["points"]:
                        stored[(series["labels"]["chunk"], t)] = v
            for _, _, chunk, t, v, kind, _ in samples:
                got = stored.get((chunk, t))
                if got is None and not complete:
                    continue  # its owner may be the replica that is down: checked at the end
                if got is None or abs(got - v) > 1e-9:
                    self.lose("sample", f"{writer}/{chunk} ts {t} value {v} ({kind}{', ' + at if at else ''}): "
                                        f"stored {got}")
        return len(want)

    def check_incident_writes(self, since: float = 0.0) -> int:
        with self.acked.lock:
            notes = [n for n in self.acked.notes if n[0] >= since]
            acks = [a for a in self.acked.acks if a[0] >= since]
        incidents = {iid for _, iid, _ in notes} | {iid for _, iid, _ in acks}
        got = {}
        for iid in incidents:
            r = self.get(f"/api/v1/incidents/{iid}")
            if r.status != 200:
                self.lose("check", f"GET /api/v1/incidents/{iid} answered {r!r}")
                continue
            got[iid] = r.json
        for _, iid, text in notes:
            if iid in got and not any(e["kind"] == "note" and text in e["detail"] for e in got[iid]["timeline"]):
                self.lose("note", f"incident {iid}: note {text!r}")
        for _, iid, actor in acks:
            if iid not in got:
                continue
            inc = got[iid]
            if inc["status"] == "triggered" or not any(e["kind"] == "acknowledged" and e["actor"] == actor
                                                       for e in inc["timeline"]):
                self.lose("ack", f"incident {iid}: acknowledged by {actor}, now {inc['status']}")
        return len(notes) + len(acks)

    def check_after_restart(self, killed_at: float) -> None:
        since = killed_at - RECENT_WINDOW
        self.check_alerts()
        self.checked_after_restart["sample"] += self.check_samples(since)
        self.checked_after_restart["note_or_ack"] += self.check_incident_writes(since)

    # -- pages ------------------------------------------------------------------------------
    def was_up_between(self, start: float, end: float) -> bool:
        """The server was ready for DUE_SLACK seconds on end somewhere in [start, end)."""
        return any(min(e, end) - max(s, start) > self.due_slack for s, e in self.up)

    def notification_rows(self, db_path: str) -> list:
        """(id, incident_id, target, address, status, attempts, payload) of every incident's notification."""
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        rows = db.execute("SELECT id, incident_id, target, address, status, attempts, payload FROM notifications "
                          "WHERE incident_id IS NOT NULL").fetchall()
        db.close()
        return rows

    def check_pages(self, incidents: list[dict], db_path: str | None = None) -> dict:
        rows = self.notification_rows(db_path)
        notes_by_step: dict[tuple[str, int, int], list] = collections.defaultdict(list)
        by_id: dict[int, tuple] = {}
        for nid, iid, target, address, status, attempts, payload in rows:
            esc = json.loads(payload).get("escalation") or {}
            key = (str(iid), esc.get("pass", 0), esc.get("level", 0))
            notes_by_step[key].append((nid, target, address, status))
            by_id[nid] = (key, target, address, status)
        # The receiver's view: each delivery names its notification (X-Tocsin-Notification-Id).
        deliveries = [rec for rec in self.receiver.snapshot() if rec.path != "/route"]
        received: collections.Counter = collections.Counter()
        without_id = 0
        for rec in deliveries:
            nid = rec.headers.get("X-Tocsin-Notification-Id")
            if nid is None:
                without_id += 1
                continue
            received[int(nid)] += 1
        lost, doubled, undelivered = [], [], []
        for nid in sorted(set(received) - set(by_id)):
            lost.append(f"notification {nid}: received, but the store has no such notification (a lost row)")
        for nid, (key, target, address, status) in by_id.items():
            if status == "sent" and received[nid] == 0:
                lost.append(f"notification {nid} ({key}, {target}): sent says the store, never received")
            elif status != "sent":
                undelivered.append(f"notification {nid} ({key}, {target}): {status}")
        for key, notes in notes_by_step.items():
            targets = collections.Counter(t for _, t, _, _ in notes)
            for target, count in targets.items():
                if count > 1:
                    doubled.append(f"incident {key[0]} pass {key[1]} level {key[2]} {target}: {count} notifications")
        first_arrival: dict[int, float] = {}
        for rec in deliveries:
            nid = int(rec.headers.get("X-Tocsin-Notification-Id", 0))
            first_arrival.setdefault(nid, rec.at)
        delays = []  # seconds from a step's due time to its page's first arrival
        due_steps = 0
        for inc in incidents:
            opened = harness.parse_time(inc["opened_at"]).timestamp()
            for p in range(1, PASSES + 1):
                for level, (after, _) in LEVELS.items():
                    for nid, *_ in notes_by_step.get((inc["id"], p, level), []):
                        if nid in first_arrival:
                            delays.append(first_arrival[nid] - (opened + (p - 1) * REPEAT_EVERY + after))
            acked = inc.get("acknowledged_at")
            stop = harness.parse_time(acked).timestamp() if acked else float("inf")
            escalated = collections.Counter()
            for e in inc["timeline"]:
                if e["kind"] == "escalated":
                    # "level 2 (pass 1) of policy chaos: …"
                    words = e["detail"].split()
                    escalated[(int(words[3].rstrip(")")), int(words[1]))] += 1
            for (p, level), count in escalated.items():
                if count > 1:
                    doubled.append(f"incident {inc['id']} pass {p} level {level}: escalated {count} times")
            for p in range(1, PASSES + 1):
                for level, (after, person) in LEVELS.items():
                    due = opened + (p - 1) * REPEAT_EVERY + after
                    if not self.was_up_between(due, stop):
                        continue  # acknowledged before the step could run: not due
                    due_steps += 1
                    if not notes_by_step.get((inc["id"], p, level)):
                        lost.append(f"incident {inc['id']} pass {p} level {level} ({person}): due at "
                                    f"{rfc3339_ms(due)}, acknowledged {acked}, never paged")
        redelivered = {nid: n for nid, n in received.items() if n > 1}
        # A copy is explained by a kill between two arrivals (the send's success was not yet
        # committed); a copy without one would be the deliverer sending twice: a bug.
        arrivals: dict[int, list[float]] = collections.defaultdict(list)
        for rec in deliveries:
            arrivals[int(rec.headers.get("X-Tocsin-Notification-Id", 0))].append(rec.at)
        kills = self.kill_times()
        for nid in redelivered:
            times = sorted(arrivals[nid])
            for a, b in zip(times, times[1:]):
                # The receiver stamps a POST when its thread has read it, which on a loaded
                # machine can be a little after the kill of the process that sent it.
                if not any(a - self.kill_stamp_slack <= k <= b for k in kills):
                    doubled.append(f"notification {nid}: delivered at {rfc3339_ms(a)} and again at {rfc3339_ms(b)} "
                                   "with no kill in between")
        delays.sort()

        def pct(q: float) -> float | None:
            return round(delays[min(len(delays) - 1, int(q * len(delays)))], 3) if delays else None

        return {"page_delay_seconds": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
                "notifications": len(by_id), "due_steps": due_steps, "pages_sent": len(received),
                "deliveries": len(deliveries), "deliveries_without_id": without_id,
                "pages_lost": lost + undelivered, "pages_doubled": doubled,
                "redeliveries": sum(n - 1 for n in redelivered.values()),
                "redelivered_notifications": sorted(redelivered)}

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> dict:
        t_start = time.monotonic()
        self.start_server()
        threads = [threading.Thread(target=self.alert_writer, args=(random.Random(self.rng.random()),), daemon=True),
                   threading.Thread(target=self.sample_writer, args=("w1", random.Random(self.rng.random())), daemon=True),
                   threading.Thread(target=self.sample_writer, args=("w2", random.Random(self.rng.random())), daemon=True),
                   threading.Thread(target=self.action_writer, args=(random.Random(self.rng.random()),), daemon=True)]
        for t in threads:
            t.start()
        for k in range(self.kills):
            time.sleep(self.rng.uniform(self.min_delay, self.max_delay))
            # One kill in ten lands in a clean shutdown: the server lives only seconds, so this is
            # when its snapshots are written (and the sample log rotated); a kill there must cost nothing.
            if self.rng.random() < SHUTDOWN_KILL_SHARE:
                self.kills_during_shutdown += 1
                self.kill_server(during_shutdown=self.rng.uniform(0, 0.05))
            else:
                self.kill_server()
            killed_at = self.up[-1][1]
            if self.rng.random() < STARTUP_KILL_SHARE:
                self.kills_during_startup += 1
                self.spawn_and_kill(self.rng.uniform(0, 0.2))
            self.start_server()
            self.check_after_restart(killed_at)
            if (k + 1) % 10 == 0 or k + 1 == self.kills:
                self.log(f"kill {k + 1}/{self.kills}: {sum(len(v) for v in self.losses.values())} losses so far")
        # Let the last ladders run out (and their pages be delivered) with the load stopped.
        self.stop_load.set()
        for t in threads:
            t.join(30)
        time.sleep(LADDER_SECONDS + 4 * DUE_SLACK)
        self.wait_for_deliveries(timeout=RETRIES_SETTLE)
        self.check_alerts()
        self.check_samples()
        self.check_incident_writes()
        r = self.get("/api/v1/incidents?limit=10000")
        incidents = [self.get(f"/api/v1/incidents/{i['id']}").json for i in r.json["incidents"]]
        self.check_alerts_opened_incidents(incidents)
        self.check_rule_alerts(incidents)
        end_of_run = time.time()
        rc = self.server.stop()
        self.up[-1][1] = end_of_run
        self.incidents_at_end = incidents
        self.db_path = os.path.join(self.tmp, "data", "tocsin.db")
        pages = self.check_pages(incidents, self.db_path)
        a = self.acked
        with a.lock:
            acked_counts = {"alert": len(a.alert_at), "alert_resend": len(a.resends),
                            "sample_push": sum(1 for s in a.samples if s[5] == "push"),
                            "sample_remote_write": sum(1 for s in a.samples if s[5] == "remote_write"),
                            "note": len(a.notes), "ack": len(a.acks)}
        result = {
            "kills": self.kills, "kills_during_shutdown": self.kills_during_shutdown,
            "extra_kills_during_startup": self.kills_during_startup,
            "pages_refused_500": len(self.receiver.refused), "fail_share": self.receiver.fail_share,
            "shutdowns_finished_before_the_kill": self.shutdowns_finished, "seed": self.seed, "delay_seconds": [self.min_delay, self.max_delay],
            "incidents": len(incidents),
            "acknowledged": acked_counts,
            "requests": dict(a.attempts), "answered_non_2xx": dict(a.refused), "no_answer": dict(a.errors),
            "losses": {k: len(v) for k, v in self.losses.items()},
            "loss_details": {k: v[:20] for k, v in self.losses.items()},
            "checked_after_restarts": dict(self.checked_after_restart),
            "rule_alerts_checked": self.rule_alerts_checked,
            "notifications": pages["notifications"], "due_steps": pages["due_steps"],
            "pages_sent": pages["pages_sent"], "deliveries": pages["deliveries"],
            "deliveries_without_id": pages["deliveries_without_id"],
            "pages_lost": len(pages["pages_lost"]), "pages_lost_details": pages["pages_lost"][:20],
            "pages_doubled": len(pages["pages_doubled"]), "pages_doubled_details": pages["pages_doubled"][:20],
            "redeliveries": pages["redeliveries"],
            "page_delay_seconds": pages["page_delay_seconds"],
            "redelivered_notifications": pages["redelivered_notifications"][:50],
            "restart_seconds": {"mean": round(sum(self.restart_seconds) / len(self.restart_seconds), 3),
                                "max": round(max(self.restart_seconds), 3)},
            "clean_stop_exit_code": rc,
            "wall_seconds": round(time.monotonic() - t_start, 1),
        }
        result["ok"] = (not any(self.losses.values()) and not pages["pages_lost"] and not pages["pages_doubled"]
                        and not pages["deliveries_without_id"] and rc == 0)
        return result

    def close(self) -> None:
        if self.server.alive():
            self.server.kill()
        self.receiver.close()
        if self.keep:
            self.log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def print_summary(r: dict, out=sys.stdout) -> None:
    a = r["acknowledged"]
    out.write(f"kills: {r['kills']} (seed {r['seed']}, uniform {r['delay_seconds'][0]}–{r['delay_seconds'][1]} s apart; "
              f"{r['kills_during_shutdown']} in a SIGTERM shutdown, {r['shutdowns_finished_before_the_kill']} of them "
              f"finished before the SIGKILL; plus {r['extra_kills_during_startup']} kills 0–200 ms into a start)"
              f", restart to /readyz: mean {r['restart_seconds']['mean']} s, max {r['restart_seconds']['max']} s\n")
    out.write("acknowledged writes: " + ", ".join(f"{k} {v}" for k, v in a.items()) + "\n")
    out.write("losses: " + (", ".join(f"{k} {v}" for k, v in r["losses"].items()) or "none") + "\n")
    for kind, details in r["loss_details"].items():
        for d in details:
            out.write(f"  {kind}: {d}\n")
    out.write(f"incidents: {r['incidents']}, ladder steps due: {r['due_steps']}, notifications: {r['notifications']}\n")
    out.write(f"receiver answered {r['pages_refused_500']} page POSTs with HTTP 500 (share {r['fail_share']}): "
              "retried\n")
    out.write(f"pages sent: {r['pages_sent']}, pages lost: {r['pages_lost']}, pages doubled: {r['pages_doubled']}, "
              f"redeliveries: {r['redeliveries']} (same notification id delivered again)\n")
    d = r["page_delay_seconds"]
    out.write(f"page delay (step due → first arrival): p50 {d['p50']} s, p99 {d['p99']} s, max {d['max']} s\n")
    for d in r["pages_lost_details"] + r["pages_doubled_details"]:
        out.write(f"  {d}\n")
    if r["deliveries_without_id"]:
        out.write(f"deliveries without X-Tocsin-Notification-Id: {r['deliveries_without_id']}\n")
    out.write(f"wall time: {r['wall_seconds']} s\n")
    out.write("OK\n" if r["ok"] else "FAILED\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="SIGKILL tocsin under load and check that no acknowledged write "
                                            "and no page is lost or doubled (docs/benchmarks.md).")
    p.add_argument("--kills", type=int, default=100, help="how many times to kill the server (default 100)")
    p.add_argument("--seed", type=int, default=1, help="seed of the kill delays and the load (default 1)")
    p.add_argument("--min-delay", type=float, default=0.5, help="shortest time between a restart and the next kill, s")
    p.add_argument("--max-delay", type=float, default=3.0, help="longest time between a restart and the next kill, s")
    p.add_argument("--binary", default=os.environ.get("TOCSIN_BIN", os.path.join(REPO, "build", "src", "cli", "tocsin")),
                   help="the tocsin binary (default $TOCSIN_BIN, else build/src/cli/tocsin)")
    p.add_argument("--fail-share", type=float, default=0.1,
                   help="share of page POSTs the receiver answers with HTTP 500, to be retried (default 0.1)")
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite",
                   help="sqlite: one server (the default); postgres: --replicas replicas on one throwaway "
                        "PostgreSQL, killed and restarted in turn (bench/chaos/ha.py)")
    p.add_argument("--replicas", type=int, default=None,
                   help="replicas on PostgreSQL (default 3; implies --store postgres)")
    p.add_argument("--lease-ttl", type=float, default=2.0, help="with --store postgres: server.lease.ttl, s (default 2)")
    p.add_argument("--renew-every", type=float, default=0.5,
                   help="with --store postgres: server.lease.renew_every, s (default 0.5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (config, data, server log)")
    args = p.parse_args(argv)
    if args.kills < 1 or not 0 < args.min_delay <= args.max_delay or not 0 <= args.fail_share < 1:
        p.error("--kills must be at least 1, 0 < --min-delay <= --max-delay, and 0 <= --fail-share < 1")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    summary = print_summary
    if args.replicas is not None or args.store == "postgres":
        import ha  # bench/chaos/ha.py
        replicas = 3 if args.replicas is None else args.replicas
        if replicas < 1 or not 0 < args.renew_every < args.lease_ttl:
            p.error("--replicas must be at least 1, and 0 < --renew-every < --lease-ttl")
        chaos = ha.HaChaos(args.binary, replicas, args.kills, args.seed, args.min_delay, args.max_delay, args.keep,
                           log=log, fail_share=args.fail_share, ttl=args.lease_ttl, renew_every=args.renew_every)
        summary = ha.print_summary
    else:
        chaos = Chaos(args.binary, args.kills, args.seed, args.min_delay, args.max_delay, args.keep,
                      log=log, fail_share=args.fail_share)
    try:
        result = chaos.run()
    finally:
        chaos.close()
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        summary(result)
    return 0 if result["ok"] else 1
