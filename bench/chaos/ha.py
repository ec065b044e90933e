"""Crash safety of several replicas under load: bench/chaos (chaos.py) across N `tocsin serve`
replicas sharing one throwaway PostgreSQL, SIGKILLing and restarting them in a loop.

`bench/chaos/run --replicas 3 --store postgres` runs it; docs/high-availability.md ("Replicas killed
and restarted in a loop") for what it found. Python 3, standard library; it reuses chaos.py's load
generators, receiver and checks (class Chaos) and tests/e2e/pg_server.py's PostgreSQL.

What is different from the single-server run:
  - N replicas (r1, r2, …: stable `replica_id`s, their own ports and data_dirs) of chaos.py's
    config plus `store: postgres://…` and `lease: {ttl, renew_every}` (default 2 s and 500 ms);
  - every request goes to a random live replica, and one that gets no answer (its replica was
    being killed) is sent once more to another live one — a client behind a load balancer;
  - the killer picks a random live replica, or (HOLDER_KILL_SHARE) the engine lease's holder as
    GET /api/v1/cluster last showed it, SIGKILLs it (a share of them during a SIGTERM shutdown),
    and restarts it after a random pause of 0.1 s to ttl + renew_every; with 3 or more replicas a
    share of the rounds kill two at once (one is always left); at least one kill hits the holder;
  - a monitor polls GET /api/v1/cluster every 100 ms: a ladder step is owed a page when it fell
    due while a live replica held the lease for the slack on end (chaos.py's DUE_SLACK plus one
    renew_every: an incident opened on a standby is paged at the holder's next renewal);
  - after each restart: the restarted replica lists every alert acknowledged (by any replica)
    before it was started (it loads them from the store), and the samples it acknowledged in the
    seconds before its kill are held by the replicas owning their series (samples live in each
    replica's data_dir, not in the store; one found on no live replica while another is down is
    left to the final check);
  - at the end, with the load stopped, the ladders run out and no page pending: every note and
    acknowledgement (through any replica: the store), every replica restarted cleanly once more
    and then listing every acknowledged alert, every acknowledged sample held by some replica,
    and the pages from PostgreSQL's notifications table and the receiver's recording, as chaos.py
    checks them (a copy of one notification is allowed only with a SIGKILL between the two
    arrivals; one step escalated twice, or paged under two notifications, is a doubled page).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import chaos  # noqa: E402
import harness  # noqa: E402  (chaos put tests/e2e on the path)
from pg_server import PostgresServer  # noqa: E402

HOLDER_KILL_SHARE = 0.4   # kills aimed at the engine lease's holder (the rest: a random live replica)
DOUBLE_KILL_SHARE = 0.15  # rounds, with 3+ replicas, that kill two replicas before restarting either
MONITOR_EVERY = 0.1       # seconds between two GET /api/v1/cluster of the monitor
MONITOR_GAP = 1.0         # a longer gap between the monitor's answers breaks a "paging" interval
# The receiver (a thread of this process) stamps a delivery when it has read it, which can trail
# the send while this process checks a restarted replica (seconds of JSON under the GIL, on a
# loaded machine); a copy is explained by a kill up to this long before its first stamp. That
# rule is not the one doubled pages are caught by here: a copy sent by a live process either got
# its attempt recorded twice (the store's notification_attempts, checked below) or logged
# "delivery attempt not recorded" (the replicas' logs, checked below), however close to a kill.
HA_KILL_STAMP_SLACK = 3.0


def with_replica(config_path: str, uri: str, name: str, ttl: float, renew_every: float) -> None:
    """Adds the store, the replica id and the lease to a config written by chaos.write_chaos_config."""
    with open(config_path) as f:
        lines = f.read().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("  data_dir:")) + 1
    lines[at:at] = [f"  store: {uri}\n", f"  replica_id: {name}\n",
                    f"  lease: {{ttl: {int(ttl * 1000)}ms, renew_every: {int(renew_every * 1000)}ms}}\n"]
    with open(config_path, "w") as f:
        f.write("".join(lines))


class HaChaos(chaos.Chaos):
    def __init__(self, binary: str, replicas: int, kills: int, seed: int, min_delay: float, max_delay: float,
                 keep: bool, log=print, fail_share: float = 0.1, ttl: float = 2.0, renew_every: float = 0.5):
        self.init_state(kills, seed, min_delay, max_delay, keep, log, fail_share, "tocsin-chaos-ha-")
        self.ttl, self.renew_every = ttl, renew_every
        self.due_slack = chaos.DUE_SLACK + renew_every
        self.kill_stamp_slack = HA_KILL_STAMP_SLACK
        self.pg = PostgresServer()
        self.pg.start()
        self.db = "chaos"
        self.uri = self.pg.create_database(self.db)
        self.replicas: dict[str, harness.Tocsin] = {}
        for i in range(1, replicas + 1):
            name = f"r{i}"
            root = os.path.join(self.tmp, name)
            port = harness.free_port()
            path = chaos.write_chaos_config(root, port, self.receiver.url)
            with_replica(path, self.uri, name, ttl, renew_every)
            server = harness.Tocsin(path, port, binary=binary)
            server.name = name
            self.replicas[name] = server
        self.server = self.replicas["r1"]  # for chaos.Chaos's helpers that want one
        self.lives: dict[str, list[list[float]]] = {n: [] for n in self.replicas}  # [ready at, killed at]
        self.sigkills: list[tuple[float, str, bool]] = []  # (when, replica, was the holder as last seen)
        self.double_rounds = 0
        self.observations: list[tuple[float, str | None]] = []  # (when, engine lease holder; "?" = no answer)
        self.obs_lock = threading.Lock()
        self.stop_monitor = threading.Event()
        self.no_replica_up = 0
        self.stop_codes: dict[str, list[int]] = {n: [] for n in self.replicas}
        self.rows_cache: list | None = None
        self.ok_attempts_cache: dict[int, int] | None = None
        self.epoch_seen = 0  # the engine lease's highest epoch seen: how many holders it had

    # -- replicas ---------------------------------------------------------------------------
    def live(self) -> list[harness.Tocsin]:
        return [s for s in self.replicas.values() if s.alive()]

    def server_named(self, name: str) -> harness.Tocsin:
        return self.replicas.get(name, self.server)

    def sample_holders(self, at: str) -> tuple[list[harness.Tocsin], bool]:
        # Partitioned ingestion (docs/high-availability.md, "Detection across replicas"): a
        # sample acknowledged by one replica is stored on the replica owning its series (or on the
        # receiver, when forwarding failed), so it may be on any of them.
        live = self.live()
        return live, len(live) == len(self.replicas)

    def start_replica(self, name: str) -> float:
        """Starts it and waits for /readyz; returns when the process was spawned."""
        s = self.replicas[name]
        spawned = time.time()
        t0 = time.monotonic()
        s.start(timeout=60)
        if not harness.wait_until(lambda: self.get_from(s, "/readyz").status == 200, 60):
            raise harness.ServerError(f"{name}: /readyz did not answer 200 within 60 s\n{s.log_tail()}")
        self.restart_seconds.append(time.monotonic() - t0)
        self.lives[name].append([time.time(), float("inf")])
        return spawned

    def kill_replica(self, name: str, holder: bool) -> float:
        s = self.replicas[name]
        if self.rng.random() < chaos.SHUTDOWN_KILL_SHARE and s.proc is not None:
            self.kills_during_shutdown += 1
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(self.rng.uniform(0, 0.05))
            if s.proc.poll() is not None:
                self.shutdowns_finished += 1
        s.kill()
        t = time.time()
        self.lives[name][-1][1] = t
        self.sigkills.append((t, name, holder))
        self.log(f"{chaos.rfc3339_ms(t)} SIGKILL {name}{' (the lease holder)' if holder else ''}")
        return t

    def spawn_and_kill_replica(self, name: str, after: float) -> None:
        s = self.replicas[name]
        with open(s.log_path, "ab") as log:
            log.write(f"\n===== start killed after {after:.3f} s\n".encode())
            log.flush()
            proc = subprocess.Popen([s.binary, "serve", "--config", s.config_path],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        time.sleep(after)
        proc.kill()
        proc.wait()
        self.startup_kill_times.append(time.time())

    # -- the clients' view: a load balancer over the live replicas -----------------------------
    def targets(self) -> list[harness.Tocsin]:
        live = self.live()
        if not live:
            self.no_replica_up += 1
            return []
        random.shuffle(live)
        return live[:2]

    def get(self, path: str) -> harness.Response:
        r = harness.Response(0, None, "no replica up")
        live = self.live()
        random.shuffle(live)
        for s in live:
            r = self.get_from(s, path)
            if r.status != 0:
                return r
        return r

    # -- the lease, as GET /api/v1/cluster shows it -------------------------------------------
    def observe_holder(self) -> str | None:
        live = self.live()
        random.shuffle(live)
        for s in live:
            try:
                r = harness.http_json("GET", s.url("/api/v1/cluster"), timeout=2.0)
            except (OSError, ValueError):
                continue
            if r.status != 200 or not r.json:
                continue
            for lease in r.json.get("leases", []):
                if lease["name"] == "engine":
                    self.epoch_seen = max(self.epoch_seen, lease["epoch"])
                    if lease["held"]:
                        return lease["holder"]
            return None
        return "?"

    def monitor(self) -> None:
        while not self.stop_monitor.is_set():
            t = time.time()
            holder = self.observe_holder()
            with self.obs_lock:
                self.observations.append((t, holder))
            self.stop_monitor.wait(MONITOR_EVERY)

    def last_holder(self) -> str | None:
        with self.obs_lock:
            for _, h in reversed(self.observations):
                if h != "?":
                    return h
        return None

    def alive_at(self, name: str, t: float) -> bool:
        return any(s <= t < e for s, e in self.lives.get(name, []))

    def paging_intervals(self) -> list[tuple[float, float]]:
        """When a live replica held the engine lease, by the monitor's observations."""
        with self.obs_lock:
            obs = list(self.observations)
        out: list[tuple[float, float]] = []
        start = last = None
        for t, h in obs:
            ok = h not in (None, "?") and self.alive_at(h, t)
            if ok and start is not None and t - last <= MONITOR_GAP:
                last = t
            elif ok:
                if start is not None:
                    out.append((start, last))
                start = last = t
            elif start is not None:
                out.append((start, t))  # it paged up to this observation, at most
                start = last = None
        if start is not None:
            out.append((start, last))
        return out

    def was_up_between(self, start: float, end: float) -> bool:
        return any(min(e, end) - max(s, start) > self.due_slack for s, e in self.paging)

    def kill_times(self) -> list[float]:
        return [t for t, _, _ in self.sigkills] + self.startup_kill_times

    def takeovers_seen(self) -> int:
        """Changes of the lease's holder between two observations that named one."""
        with self.obs_lock:
            named = [h for _, h in self.observations if h not in (None, "?")]
        return sum(1 for a, b in zip(named, named[1:]) if a != b)

    def paging_seconds(self, start: float, end: float) -> float:
        return sum(max(0.0, min(e, end) - max(s, start)) for s, e in self.paging)

    # -- the store --------------------------------------------------------------------------
    def sql_json(self, sql: str):
        return json.loads(self.pg.psql(self.db, sql).strip() or "null")

    def pending_notifications(self) -> int | None:
        try:
            return int(self.pg.psql(self.db, "SELECT count(*) FROM notifications WHERE status = 'pending' "
                                             "AND incident_id IS NOT NULL").strip())
        except (AssertionError, ValueError, OSError, subprocess.SubprocessError):
            return None

    def notification_rows(self, db_path: str | None = None) -> list:
        if self.rows_cache is None:
            self.rows_cache = self.sql_json(
                "SELECT coalesce(json_agg(json_build_array(id, incident_id, target, address, status, attempts, "
                "payload) ORDER BY id), '[]') FROM notifications WHERE incident_id IS NOT NULL")
        return self.rows_cache

    def ok_attempts(self) -> dict[int, int]:
        """notification id -> successful delivery attempts recorded in the store."""
        if self.ok_attempts_cache is None:
            pairs = self.sql_json("SELECT coalesce(json_agg(json_build_array(notification_id, n)), '[]') FROM "
                                  "(SELECT notification_id, count(*) AS n FROM notification_attempts WHERE ok = 1 "
                                  "GROUP BY notification_id) AS x")
            self.ok_attempts_cache = {int(nid): int(n) for nid, n in pairs}
        return self.ok_attempts_cache

    def unrecorded_sends(self) -> dict[str, list[str]]:
        """notification id -> the replicas' log lines saying an attempt was not recorded."""
        out: dict[str, list[str]] = {}
        for name, s in self.replicas.items():
            try:
                with open(s.log_path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if "delivery attempt not recorded" in line:
                            nid = next((w[3:] for w in line.split() if w.startswith("id=")), "?")
                            out.setdefault(nid, []).append(f"{name}: {line.strip()}")
            except OSError:
                pass
        return out

    def check_pages(self, incidents: list[dict], db_path: str | None = None) -> dict:
        """chaos.py's check, plus what only several replicas can do wrong: one notification
        recorded as delivered more than once (two replicas each sent and recorded it), or sent by
        a replica whose record of it was refused by the lease's fencing (it sent without holding
        the lease)."""
        pages = super().check_pages(incidents, db_path)
        received = {int(r.headers.get("X-Tocsin-Notification-Id", 0)) for r in self.receiver.snapshot()
                    if r.path != "/route"}
        for nid, n in sorted(self.ok_attempts().items()):
            if n > 1:
                pages["pages_doubled"].append(f"notification {nid}: {n} successful delivery attempts recorded "
                                              f"(received {'yes' if nid in received else 'no'})")
        unrecorded = self.unrecorded_sends()
        pages["unrecorded_sends"] = unrecorded
        for nid, lines in sorted(unrecorded.items()):
            if any("lease" in line or "failed_precondition" in line or "failed precondition" in line
                   for line in lines):
                pages["pages_doubled"].append(f"notification {nid}: sent by a replica whose record was refused "
                                              f"by the lease: {lines[0]}")
        return pages

    # -- checks after a restart --------------------------------------------------------------
    def check_replica_after_restart(self, name: str, killed_at: float, spawned_at: float) -> None:
        since = killed_at - chaos.RECENT_WINDOW
        self.check_alerts(self.replicas[name], before=spawned_at)
        self.checked_after_restart["sample"] += self.check_samples(since, where=name)
        self.checked_after_restart["note_or_ack"] += self.check_incident_writes(since)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> dict:
        t_start = time.monotonic()
        names = list(self.replicas)
        self.start_replica(names[0])  # r1 takes the lease; the others start as standbys
        for name in names[1:]:
            self.start_replica(name)
        monitor = threading.Thread(target=self.monitor, daemon=True)
        monitor.start()
        threads = [threading.Thread(target=self.alert_writer, args=(random.Random(self.rng.random()),), daemon=True),
                   threading.Thread(target=self.sample_writer, args=("w1", random.Random(self.rng.random())), daemon=True),
                   threading.Thread(target=self.sample_writer, args=("w2", random.Random(self.rng.random())), daemon=True),
                   threading.Thread(target=self.action_writer, args=(random.Random(self.rng.random()),), daemon=True)]
        for t in threads:
            t.start()
        killed = 0
        rounds = 0
        while killed < self.kills:
            rounds += 1
            time.sleep(self.rng.uniform(self.min_delay, self.max_delay))
            live = [s.name for s in self.live()]
            holder = self.last_holder()
            holder_kills = sum(1 for _, _, h in self.sigkills if h)
            if holder in live and (self.rng.random() < HOLDER_KILL_SHARE
                                   or (holder_kills == 0 and killed == self.kills - 1)):
                first = holder
            else:
                first = self.rng.choice(live)
            victims = [first]
            if (len(live) >= 3 and killed + 2 <= self.kills and self.rng.random() < DOUBLE_KILL_SHARE):
                victims.append(self.rng.choice([n for n in live if n != first]))
                self.double_rounds += 1
            killed_at = {}
            for v in victims:
                killed_at[v] = self.kill_replica(v, holder=(v == holder))
                killed += 1
                if len(victims) > 1:
                    time.sleep(self.rng.uniform(0, 0.5))
            time.sleep(self.rng.uniform(0.1, self.ttl + self.renew_every))
            for v in victims:
                if self.rng.random() < chaos.STARTUP_KILL_SHARE:
                    self.kills_during_startup += 1
                    self.spawn_and_kill_replica(v, self.rng.uniform(0, 0.2))
                spawned = self.start_replica(v)
                self.check_replica_after_restart(v, killed_at[v], spawned)
            if rounds % 10 == 0 or killed >= self.kills:
                self.log(f"kill {killed}/{self.kills}: {sum(len(v) for v in self.losses.values())} losses so far")
        # Let the last ladders run out (and their pages be delivered) with the load stopped: the
        # ladder, plus a takeover (ttl + renew_every) should the holder have been killed last.
        self.stop_load.set()
        for t in threads:
            t.join(30)
        load_stopped = time.time()
        time.sleep(chaos.LADDER_SECONDS + self.ttl + self.renew_every + 4 * self.due_slack)
        self.wait_for_deliveries(timeout=chaos.RETRIES_SETTLE)
        self.stop_monitor.set()
        monitor.join(10)
        end_of_paging = time.time()
        self.paging = self.paging_intervals()
        self.check_incident_writes()
        r = self.get("/api/v1/incidents?limit=10000")
        incidents = [self.get(f"/api/v1/incidents/{i['id']}").json for i in r.json["incidents"]]
        self.check_alerts_opened_incidents(incidents)
        self.check_rule_alerts(incidents)
        # Every replica restarted once more (cleanly): each then lists every acknowledged alert
        # from the store, and every sample acknowledged is held by one of them.
        for name, s in self.replicas.items():
            self.stop_codes[name].append(s.stop(timeout=30))
            self.lives[name][-1][1] = time.time()
            self.start_replica(name)
        for name, s in self.replicas.items():
            self.check_alerts(s)
            self.checked_after_restart["sample_at_end"] += self.check_samples(where=name)
        pending = self.pending_notifications()
        for name, s in self.replicas.items():
            self.stop_codes[name].append(s.stop(timeout=30))
            self.lives[name][-1][1] = time.time()
        self.incidents_at_end = incidents
        self.db_path = None
        pages = self.check_pages(incidents)
        doubled_log = self.explain_doubled(pages)
        a = self.acked
        with a.lock:
            acked_counts = {"alert": len(a.alert_at), "alert_resend": len(a.resends),
                            "sample_push": sum(1 for s in a.samples if s[5] == "push"),
                            "sample_remote_write": sum(1 for s in a.samples if s[5] == "remote_write"),
                            "note": len(a.notes), "ack": len(a.acks)}
            samples_by_replica = {n: sum(1 for s in a.samples if s[6] == n) for n in self.replicas}
        load_started = self.lives["r1"][0][0]
        paging_s = self.paging_seconds(load_started, load_stopped)
        rcs = [rc for codes in self.stop_codes.values() for rc in codes]
        result = {
            "replicas": len(self.replicas), "lease_ttl_s": self.ttl, "renew_every_s": self.renew_every,
            "kills": len(self.sigkills), "holder_kills": sum(1 for _, _, h in self.sigkills if h),
            "double_kill_rounds": self.double_rounds, "takeovers_seen": self.takeovers_seen(),
            "lease_epochs": self.epoch_seen,
            "kills_during_shutdown": self.kills_during_shutdown,
            "extra_kills_during_startup": self.kills_during_startup,
            "pages_refused_500": len(self.receiver.refused), "fail_share": self.receiver.fail_share,
            "shutdowns_finished_before_the_kill": self.shutdowns_finished, "seed": self.seed,
            "delay_seconds": [self.min_delay, self.max_delay],
            "incidents": len(incidents), "acknowledged": acked_counts,
            "samples_acknowledged_by_replica": samples_by_replica,
            "requests": dict(a.attempts), "answered_non_2xx": dict(a.refused), "no_answer": dict(a.errors),
            "no_replica_up": self.no_replica_up,
            "losses": {k: len(v) for k, v in self.losses.items()},
            "loss_details": {k: v[:20] for k, v in self.losses.items()},
            "checked_after_restarts": dict(self.checked_after_restart),
            "rule_alerts_checked": self.rule_alerts_checked,
            "paging_seconds": round(paging_s, 1), "load_seconds": round(load_stopped - load_started, 1),
            "notifications": pages["notifications"], "due_steps": pages["due_steps"],
            "pending_at_end": pending,
            "pages_sent": pages["pages_sent"], "deliveries": pages["deliveries"],
            "deliveries_without_id": pages["deliveries_without_id"],
            "pages_lost": len(pages["pages_lost"]), "pages_lost_details": pages["pages_lost"][:20],
            "pages_doubled": len(pages["pages_doubled"]), "pages_doubled_details": pages["pages_doubled"][:20],
            "doubled_log": doubled_log[:200],
            "unrecorded_sends": {k: v[:3] for k, v in list(pages["unrecorded_sends"].items())[:20]},
            "redeliveries": pages["redeliveries"],
            "page_delay_seconds": pages["page_delay_seconds"],
            "redelivered_notifications": pages["redelivered_notifications"][:50],
            "restart_seconds": {"mean": round(sum(self.restart_seconds) / len(self.restart_seconds), 3),
                                "max": round(max(self.restart_seconds), 3)},
            "clean_stop_exit_code": next((rc for rc in rcs if rc != 0), 0),
            "end_of_paging": end_of_paging,
            "wall_seconds": round(time.monotonic() - t_start, 1),
        }
        result["ok"] = (not any(self.losses.values()) and not pages["pages_lost"] and not pages["pages_doubled"]
                        and not pages["deliveries_without_id"] and all(rc == 0 for rc in rcs))
        return result

    def log_lines_around(self, start: float, end: float, nids: set[str]) -> list[str]:
        """The replicas' log lines stamped in [start, end] about the lease, about one of these
        notifications, or errors; and this run's SIGKILLs in that window."""
        out = []
        for name, s in self.replicas.items():
            try:
                with open(s.log_path, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for line in lines:
                if not line.startswith("ts="):
                    continue
                try:
                    t = harness.parse_time(line[3:line.index(" ")]).timestamp()
                except ValueError:
                    continue
                if start <= t <= end and ("lease" in line or "level=error" in line
                                          or any(f"id={n}" in line.split() for n in nids)):
                    out.append((t, f"{name}: {line}"))
        out += [(t, f"killer: {chaos.rfc3339_ms(t)} SIGKILL {n}{' (the lease holder)' if h else ''}")
                for t, n, h in self.sigkills if start <= t <= end]
        out += [(t, f"killer: {chaos.rfc3339_ms(t)} a start killed")
                for t in self.startup_kill_times if start <= t <= end]
        return [text for _, text in sorted(out, key=lambda x: x[0])]

    def explain_doubled(self, pages: dict) -> list[str]:
        """For each copy delivered with no kill in between: the arrivals and the logs around them."""
        out = []
        deliveries = [rec for rec in self.receiver.snapshot() if rec.path != "/route"]
        for d in pages["pages_doubled"]:
            if "no kill in between" not in d and "successful delivery attempts" not in d:
                continue
            nid = d.split()[1].rstrip(":")
            times = sorted(rec.at for rec in deliveries if rec.headers.get("X-Tocsin-Notification-Id") == nid)
            if not times:
                continue
            out.append(f"notification {nid}: arrivals at " + ", ".join(chaos.rfc3339_ms(t) for t in times))
            try:
                attempts = self.sql_json(
                    "SELECT coalesce(json_agg(json_build_array(a.at, a.ok, a.status_code, a.error, a.latency_ms) "
                    f"ORDER BY a.id), '[]') FROM notification_attempts a WHERE a.notification_id = {int(nid)}")
                row = self.sql_json("SELECT json_build_array(incident_id, target, status, attempts, created_at) "
                                    f"FROM notifications WHERE id = {int(nid)}")
                out.append(f"  store: notification (incident, target, status, attempts, created) {row}")
                for at, ok, code, err, lat in attempts:
                    out.append(f"  store: attempt at {chaos.rfc3339_ms(at / 1000)} ok {ok} status {code} "
                               f"latency {lat} ms {err}")
            except (AssertionError, ValueError, OSError, subprocess.SubprocessError) as e:
                out.append(f"  store: not read: {e}")
            out += ["  " + line for line in self.log_lines_around(times[0] - 5, times[-1] + 2, {nid})]
        return out

    def log_tails(self, max_chars: int = 6000) -> str:
        return "".join(f"\n--- tocsin {n} log ---\n{s.log_tail(max_chars)}\n" for n, s in self.replicas.items())

    def close(self) -> None:
        self.stop_monitor.set()
        for s in self.replicas.values():
            if s.alive():
                s.kill()
        self.receiver.close()
        if self.keep:
            self.pg._signal(signal.SIGQUIT)  # stopped; its data dir stays, to be started by hand
            self.log(f"kept PostgreSQL's data dir {self.pg.data} (postgres -D … -p {self.pg.port})")
        else:
            self.pg.close()
        if self.keep:
            self.log(f"kept {self.tmp}")
        else:
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)


def print_summary(r: dict, out=sys.stdout) -> None:
    out.write(f"replicas: {r['replicas']} on one PostgreSQL, lease ttl {r['lease_ttl_s']:g} s, renew every "
              f"{r['renew_every_s']:g} s; SIGKILLs: {r['kills']}, {r['holder_kills']} of them the lease holder, "
              f"{r['double_kill_rounds']} rounds with two replicas down; the engine lease had {r['lease_epochs']} holders "
              f"(epochs; a replica restarted before its lease ran out renews it, same epoch), changed hands "
              f"{r['takeovers_seen']} times as seen; a live replica held it {r['paging_seconds']} s of the "
              f"{r['load_seconds']} s under load\n")
    out.write("samples acknowledged per replica: " + ", ".join(f"{n} {c}" for n, c in
                                                              r["samples_acknowledged_by_replica"].items()) + "\n")
    if r["answered_non_2xx"] or r["no_answer"]:
        out.write(f"answered non-2xx: {r['answered_non_2xx']}; no answer (retried on another replica): "
                  f"{r['no_answer']}\n")
    chaos.print_summary(r, out)
    if r["unrecorded_sends"]:
        out.write(f"sends whose attempt a replica could not record (re-sent with the same id): "
                  f"{len(r['unrecorded_sends'])}\n")
        for nid, lines in r["unrecorded_sends"].items():
            out.write(f"  {nid}: {lines[0]}\n")
    if r["doubled_log"]:
        out.write("pages delivered twice with no kill in between, and the replicas' logs around them:\n")
        for line in r["doubled_log"]:
            out.write(f"  {line}\n")
