#!/usr/bin/env python3
"""Differential tests: the same scenario against real Alertmanager and against tocsin.

Python 3.11, standard library only. Library + CLI:

    python3 tests/e2e/alertmanager_diff.py --scenario all --targets am,tocsin
    python3 tests/e2e/alertmanager_diff.py --scenario a_grouping --targets am,am   # harness self-check
    python3 tests/e2e/alertmanager_diff.py --scenario c_silence --targets am --show-bodies
    python3 tests/e2e/alertmanager_diff.py --scenario all --write-configs /tmp/cfg  # configs only

A scenario (a JSON file in tests/e2e/scenarios/, see load_scenario for the schema) holds a routing
configuration (receivers, route tree, inhibit rules) and a timed list of actions (post alerts,
create / expire silences). From it the harness writes an alertmanager.yml and a tocsin.yaml, starts
every target with its own ports, data dir and recorder paths, drives all targets concurrently on
one shared clock (t = 0 is the same instant for every target) and records every webhook
notification (arrival time relative to t = 0, receiver, v4 body).

Comparison, per (receiver, groupKey): the sequences of notifications must be equal in length and,
one by one, in status and in the sorted list of (alert labels, alert status); arrival times must
agree within --tolerance seconds. The global count must be equal too. Secondary "details" (alert
order in the body, groupLabels / commonLabels / commonAnnotations, per-alert annotations,
fingerprint, generatorURL, startsAt / endsAt relative to t = 0, truncatedAlerts, version) are
compared as well unless --no-details. A target named `am` is also checked against the scenario's
`expect` list (what Alertmanager 0.25 was observed to send), which guards the scenarios
themselves: a scenario whose timeline is racy or that does not exercise what it claims fails there.

Binaries: $ALERTMANAGER_BIN (default /usr/bin/prometheus-alertmanager) and $TOCSIN_BIN (default:
build/src/cli/tocsin in this checkout, as in harness.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ServerError, Tocsin, WebhookReceiver, free_port, http_json,  # noqa: E402
                     http_request, tocsin_bin)

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")
DEFAULT_TOLERANCE = 0.6  # seconds; the scenarios use 1-4 s timers and keep events >= 0.5 s from ticks
DEFAULT_ENDS_IN = 300    # an alert posted without "ends"/"ends_in" gets endsAt = post time + this
ZERO_TIME_PREFIX = "0001-01-01"


def alertmanager_bin() -> str | None:
    env = os.environ.get("ALERTMANAGER_BIN")
    if env:
        return env if os.path.exists(env) else None
    for cand in ("/usr/bin/prometheus-alertmanager", shutil.which("prometheus-alertmanager"),
                 shutil.which("alertmanager")):
        if cand and os.path.exists(cand):
            return cand
    return None


# ---------------------------------------------------------------------------------------------
# Scenarios

class ScenarioError(ValueError):
    pass


@dataclass
class Scenario:
    """One scenario, normalised: every action is a post / silence / expire at an absolute offset.

    config:  {"receivers": {name: {"send_resolved": bool}}, "route": {...}, "inhibit_rules": [...],
              "resolve_timeout": seconds (optional)}
    actions: [{"at": s, "post": [alert...]}, {"at": s, "silence": {...}}, {"at": s, "expire": id}]
             where a normalised alert is {"labels", "annotations", "starts": s, "ends": s | None}
    expect:  [{"at": s, "receiver", "groupKey", "status", "alerts": ["k=v,k=v:status", ...]}]
    """
    name: str
    description: str
    config: dict
    actions: list[dict]
    duration: float
    expect: list[dict] | None = None
    path: str | None = None


def _labels_key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def normalize_scenario(raw: dict, name: str | None = None, path: str | None = None) -> Scenario:
    """Checks a raw scenario dict and expands it.

    Raw actions (each has "at", seconds after t = 0):
      {"at": 0, "post": [ALERT, ...]}
      {"at": 0, "resend": {"every": 1, "until": 3, "ends_after": 4, "alerts": [ALERT, ...]}}
          Prometheus style: posts at at, at+every, ... <= until, each with endsAt = post time +
          ends_after (Prometheus uses 4 x its resend delay)
      {"at": 3.5, "resolve": [ALERT, ...]}         posts them with endsAt = at (explicit resolve)
      {"at": 0, "silence": {"id": "s1", "matchers": ['instance="h2"'], "duration": 60}}
      {"at": 3.5, "expire": "s1"}                    DELETE /api/v2/silence/{id of s1}
    ALERT: {"labels": {...}, "annotations": {...}?, "starts": s?, "ends": s | null?, "ends_in": s?}
      starts: absolute offset of startsAt (may be negative: an old alert); default: the time this
              label set was first posted in the scenario (re-sends keep startsAt, as Prometheus does)
      ends:   absolute offset of endsAt; null = send no endsAt (the receiver's resolve_timeout applies)
      ends_in: endsAt = post time + ends_in; default when neither is given: DEFAULT_ENDS_IN
    """
    name = name or raw.get("name")
    if not name:
        raise ScenarioError("a scenario needs a name")
    known = {"name", "description", "config", "actions", "duration", "expect", "notes"}
    unknown = set(raw) - known
    if unknown:
        raise ScenarioError(f"{name}: unknown keys {sorted(unknown)}")
    config = raw.get("config") or {}
    receivers = config.get("receivers")
    if not isinstance(receivers, dict) or not receivers:
        raise ScenarioError(f"{name}: config.receivers must be a non-empty map name -> options")
    route = config.get("route")
    if not isinstance(route, dict) or "receiver" not in route:
        raise ScenarioError(f"{name}: config.route must be a map with a receiver")

    def check_route(r: dict, where: str):
        allowed = {"receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "matchers",
                   "continue", "routes"}
        bad = set(r) - allowed
        if bad:
            raise ScenarioError(f"{name}: {where}: unknown route keys {sorted(bad)}")
        if "receiver" in r and r["receiver"] not in receivers:
            raise ScenarioError(f"{name}: {where}: receiver {r['receiver']!r} is not in config.receivers")
        for i, child in enumerate(r.get("routes") or []):
            check_route(child, f"{where}.routes[{i}]")

    check_route(route, "route")

    first_post: dict[str, float] = {}
    actions: list[dict] = []

    def norm_alert(a: dict, at: float, resolve: bool = False, ends_after: float | None = None) -> dict:
        if not isinstance(a, dict) or not isinstance(a.get("labels"), dict) or not a["labels"]:
            raise ScenarioError(f"{name}: an alert needs a non-empty labels map: {a!r}")
        key = _labels_key(a["labels"])
        first_post.setdefault(key, at)
        starts = a.get("starts", first_post[key])
        if resolve:
            ends = at
        elif ends_after is not None:
            ends = at + ends_after
        elif "ends" in a:
            ends = a["ends"]
        elif "ends_in" in a:
            ends = at + a["ends_in"]
        else:
            ends = at + DEFAULT_ENDS_IN
        return {"labels": dict(a["labels"]), "annotations": dict(a.get("annotations") or {}),
                "starts": starts, "ends": ends}

    raw_actions = sorted(raw.get("actions") or [], key=lambda x: x.get("at", 0))  # stable
    for act in raw_actions:
        at = float(act.get("at", 0))
        kinds = [k for k in ("post", "resend", "resolve", "silence", "expire") if k in act]
        if len(kinds) != 1 or set(act) - {"at", kinds[0]}:
            raise ScenarioError(f"{name}: an action has \"at\" and exactly one of post / resend / resolve / "
                                f"silence / expire: {act!r}")
        kind = kinds[0]
        if kind == "post":
            actions.append({"at": at, "post": [norm_alert(a, at) for a in act["post"]]})
        elif kind == "resolve":
            actions.append({"at": at, "post": [norm_alert(a, at, resolve=True) for a in act["resolve"]]})
        elif kind == "resend":
            spec = act["resend"]
            every, until, ends_after = float(spec["every"]), float(spec["until"]), float(spec["ends_after"])
            t = at
            while t <= until + 1e-9:
                actions.append({"at": round(t, 6),
                                "post": [norm_alert(a, round(t, 6), ends_after=ends_after) for a in spec["alerts"]]})
                t += every
        elif kind == "silence":
            s = act["silence"]
            if not s.get("id") or not s.get("matchers") or not s.get("duration"):
                raise ScenarioError(f"{name}: a silence needs id, matchers and duration: {s!r}")
            for m in s["matchers"]:
                parse_matcher(m)
            actions.append({"at": at, "silence": dict(s)})
        else:
            actions.append({"at": at, "expire": act["expire"]})
    actions.sort(key=lambda x: x["at"])
    duration = float(raw.get("duration") or 0)
    if duration <= 0:
        raise ScenarioError(f"{name}: duration (seconds to record after t = 0) must be positive")
    if actions and actions[-1]["at"] >= duration:
        raise ScenarioError(f"{name}: the last action (t={actions[-1]['at']}) is after the duration {duration}")
    return Scenario(name=name, description=raw.get("description", ""), config=config, actions=actions,
                    duration=duration, expect=raw.get("expect"), path=path)


def scenario_names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(SCENARIO_DIR) if f.endswith(".json"))


def load_scenario(name_or_path: str) -> Scenario:
    path = name_or_path if name_or_path.endswith(".json") else os.path.join(SCENARIO_DIR, name_or_path + ".json")
    try:
        with open(path) as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"no scenario {name_or_path!r} (known: {', '.join(scenario_names())})") from None
    return normalize_scenario(raw, name=os.path.basename(path)[:-5], path=path)


# ---------------------------------------------------------------------------------------------
# Matchers (the Alertmanager string form: name="value", name!="v", name=~"re", name!~"re")

_MATCHER_RE = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')


def parse_matcher(text: str) -> dict:
    """'name="value"' -> the API v2 matcher object {name, value, isRegex, isEqual}."""
    m = _MATCHER_RE.match(text)
    if not m:
        raise ScenarioError(f"bad matcher {text!r}: expected name=\"value\" (or !=, =~, !~)")
    name, op, value = m.group(1), m.group(2), json.loads('"' + m.group(3) + '"')
    return {"name": name, "value": value, "isRegex": op in ("=~", "!~"), "isEqual": op in ("=", "=~")}


# ---------------------------------------------------------------------------------------------
# Config writers (YAML block style; scalars are written as JSON, which YAML reads the same)

_PLAIN_RE = re.compile(r"^(?:[A-Za-z_/][A-Za-z0-9_./:-]*|[0-9]+(?:ms|s|m|h))$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _yaml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    s = str(v)
    if _PLAIN_RE.match(s) and s.lower() not in _YAML_WORDS:
        return s
    if s.isprintable():
        return "'" + s.replace("'", "''") + "'"  # matchers read best single-quoted: 'team="db"'
    return json.dumps(s)


def to_yaml(v: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(v, dict):
        if not v:
            return pad + "{}\n"
        out = ""
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out += f"{pad}{k}:\n" + to_yaml(x, indent + 2)
            else:
                out += f"{pad}{k}: " + (("{}" if isinstance(x, dict) else "[]") if isinstance(x, (dict, list))
                                        else _yaml_scalar(x)) + "\n"
        return out
    if isinstance(v, list):
        if not v:
            return pad + "[]\n"
        out = ""
        for x in v:
            if isinstance(x, (dict, list)) and x:
                body = to_yaml(x, indent + 2)
                out += f"{pad}- " + body[indent + 2:]  # first line joins the dash
            else:
                out += f"{pad}- " + _yaml_scalar(x) + "\n"
        return out
    return pad + _yaml_scalar(v) + "\n"


def fmt_duration(seconds: float) -> str:
    """Whole seconds as "Ns" (tocsin's safe form); fractions as milliseconds."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{int(round(seconds * 1000))}ms"


def _route_out(r: dict) -> dict:
    out: dict[str, Any] = {}
    for k in ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "matchers", "continue"):
        if k not in r:
            continue
        v = r[k]
        if k in ("group_wait", "group_interval", "repeat_interval"):
            v = fmt_duration(v)
        out[k] = v
    if r.get("routes"):
        out["routes"] = [_route_out(c) for c in r["routes"]]
    return out


def _inhibit_out(rules: list[dict]) -> list[dict]:
    out = []
    for r in rules:
        o = {}
        for k in ("source_matchers", "target_matchers", "equal"):
            if k in r:
                o[k] = list(r[k])
        out.append(o)
    return out


def alertmanager_config(sc: Scenario, recorder_base: str) -> str:
    """alertmanager.yml: one webhook receiver per scenario receiver posting to <recorder_base>/<name>."""
    cfg: dict[str, Any] = {}
    if sc.config.get("resolve_timeout") is not None:
        cfg["global"] = {"resolve_timeout": fmt_duration(sc.config["resolve_timeout"])}
    cfg["route"] = _route_out(sc.config["route"])
    cfg["receivers"] = [
        {"name": name, "webhook_configs": [{"url": f"{recorder_base}/{name}",
                                            "send_resolved": bool((opts or {}).get("send_resolved", True))}]}
        for name, opts in sc.config["receivers"].items()]
    if sc.config.get("inhibit_rules"):
        cfg["inhibit_rules"] = _inhibit_out(sc.config["inhibit_rules"])
    return f"# generated by alertmanager_diff.py from scenario {sc.name}\n" + to_yaml(cfg)


def tocsin_config(sc: Scenario, recorder_base: str, port: int, data_dir: str) -> str:
    """tocsin.yaml: webhook channels in Alertmanager format, the same route tree and inhibit rules."""
    cfg: dict[str, Any] = {"server": {"listen": f"127.0.0.1:{port}", "data_dir": data_dir,
                                      "external_url": f"http://127.0.0.1:{port}"}}
    if sc.config.get("resolve_timeout") is not None:
        cfg["alerting"] = {"resolve_timeout": fmt_duration(sc.config["resolve_timeout"])}
    cfg["channels"] = [
        {"name": name, "type": "webhook", "url": f"{recorder_base}/{name}", "format": "alertmanager",
         "send_resolved": bool((opts or {}).get("send_resolved", True))}
        for name, opts in sc.config["receivers"].items()]
    cfg["routes"] = _route_out(sc.config["route"])
    if sc.config.get("inhibit_rules"):
        cfg["inhibit_rules"] = _inhibit_out(sc.config["inhibit_rules"])
    return f"# generated by alertmanager_diff.py from scenario {sc.name}\n" + to_yaml(cfg)


# ---------------------------------------------------------------------------------------------
# Targets

class AlertmanagerProcess:
    """prometheus-alertmanager with clustering disabled; stdout/stderr to DIR/alertmanager.log."""

    def __init__(self, root: str, port: int, binary: str):
        self.root, self.port, self.binary = root, port, binary
        self.config_path = os.path.join(root, "alertmanager.yml")
        self.log_path = os.path.join(root, "alertmanager.log")
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, f"--config.file={self.config_path}",
                 f"--storage.path={os.path.join(self.root, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 f"--web.external-url=http://127.0.0.1:{self.port}",
                 "--cluster.listen-address=", "--log.level=debug"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"alertmanager exited with code {self.proc.returncode} at start.\n"
                                  f"--- log ---\n{self.log_tail()}")
            try:
                if http_request("GET", self.base + "/-/ready", timeout=1.0).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"alertmanager not ready within {timeout}s.\n--- log ---\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, max_chars: int = 8000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return text if len(text) <= max_chars else "…" + text[-max_chars:]


class TocsinProcess:
    """`tocsin serve` via harness.Tocsin (waits for /healthz)."""

    def __init__(self, root: str, port: int, binary: str):
        self.root, self.port = root, port
        self.config_path = os.path.join(root, "tocsin.yaml")
        self.base = f"http://127.0.0.1:{port}"
        self._t = Tocsin(self.config_path, port, binary)
        self.log_path = self._t.log_path

    def start(self, timeout: float = 20.0) -> None:
        self._t.start(timeout)

    def stop(self) -> None:
        if self._t.alive():
            try:
                self._t.stop()
            except ServerError:
                pass

    def log_tail(self, max_chars: int = 8000) -> str:
        return self._t.log_tail(max_chars)


@dataclass
class TargetRun:
    """One target running one scenario."""
    kind: str    # "am" or "tocsin"
    label: str   # unique within the run: "am", "tocsin", or "am#1"/"am#2"
    tag: str     # recorder path prefix
    root: str
    port: int
    process: Any = None
    errors: list[str] = field(default_factory=list)
    silence_ids: dict[str, str] = field(default_factory=dict)
    notifications: list["Notification"] = field(default_factory=list)


def _setup_target(kind: str, label: str, sc: Scenario, recorder: WebhookReceiver, root: str) -> TargetRun:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{sc.name}.{label}")
    port = free_port()
    tr = TargetRun(kind=kind, label=label, tag=tag, root=root, port=port)
    os.makedirs(root, exist_ok=True)
    base = f"{recorder.url}/{tag}"
    if kind == "am":
        binary = alertmanager_bin()
        if not binary:
            raise ServerError("prometheus-alertmanager is not installed (set ALERTMANAGER_BIN)")
        with open(os.path.join(root, "alertmanager.yml"), "w") as f:
            f.write(alertmanager_config(sc, base))
        tr.process = AlertmanagerProcess(root, port, binary)
    elif kind == "tocsin":
        data_dir = os.path.join(root, "data")
        with open(os.path.join(root, "tocsin.yaml"), "w") as f:
            f.write(tocsin_config(sc, base, port, data_dir))
        tr.process = TocsinProcess(root, port, tocsin_bin())
    else:
        raise ValueError(f"unknown target {kind!r} (am or tocsin)")
    return tr


# ---------------------------------------------------------------------------------------------
# Driving a scenario

def rfc3339(t: float) -> str:
    d = dt.datetime.fromtimestamp(t, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond:06d}Z"


_TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_rfc3339(text: str) -> float | None:
    """Seconds since the epoch; None for Go's zero time (0001-01-01...) or a missing value."""
    if not text or text.startswith(ZERO_TIME_PREFIX):
        return None
    m = _TS_RE.match(text)
    if not m:
        raise ValueError(f"bad timestamp {text!r}")
    base = dt.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return base.timestamp() + frac


def alert_payload(a: dict, t0: float) -> dict:
    name = a["labels"].get("alertname", "none")
    out = {"labels": a["labels"], "annotations": a["annotations"],
           "startsAt": rfc3339(t0 + a["starts"]), "generatorURL": f"http://prometheus.example/graph?g0={name}"}
    if a["ends"] is not None:
        out["endsAt"] = rfc3339(t0 + a["ends"])
    return out


def _do_action(tr: TargetRun, act: dict, t0: float) -> None:
    base = tr.process.base
    try:
        if "post" in act:
            r = http_json("POST", base + "/api/v2/alerts", [alert_payload(a, t0) for a in act["post"]], timeout=5)
            if r.status // 100 != 2:
                tr.errors.append(f"t={act['at']}: POST /api/v2/alerts: {r!r}")
        elif "silence" in act:
            s = act["silence"]
            body = {"matchers": [parse_matcher(m) for m in s["matchers"]],
                    "startsAt": rfc3339(t0 + act["at"]), "endsAt": rfc3339(t0 + act["at"] + s["duration"]),
                    "createdBy": "alertmanager_diff", "comment": s.get("comment", f"scenario silence {s['id']}")}
            r = http_json("POST", base + "/api/v2/silences", body, timeout=5)
            sid = r.json.get("silenceID") if isinstance(r.json, dict) else None
            if r.status != 200 or not sid:
                tr.errors.append(f"t={act['at']}: POST /api/v2/silences: expected 200 with silenceID, got {r!r}")
            else:
                tr.silence_ids[s["id"]] = sid
        elif "expire" in act:
            sid = tr.silence_ids.get(act["expire"])
            if sid is None:
                tr.errors.append(f"t={act['at']}: expire {act['expire']!r}: the silence was not created")
                return
            r = http_json("DELETE", base + f"/api/v2/silence/{sid}", timeout=5)
            if r.status != 200:
                tr.errors.append(f"t={act['at']}: DELETE /api/v2/silence/{sid}: {r!r}")
    except (OSError, urllib.error.URLError) as e:
        tr.errors.append(f"t={act['at']}: {next(iter(k for k in act if k != 'at'))}: {e}")


def _drive(tr: TargetRun, sc: Scenario, t0: float, m0: float) -> None:
    for act in sc.actions:
        delay = m0 + act["at"] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        late = time.monotonic() - (m0 + act["at"])
        if late > 0.2:
            tr.errors.append(f"t={act['at']}: the driver was {late:.2f}s late (machine overloaded?)")
        _do_action(tr, act, t0)


# ---------------------------------------------------------------------------------------------
# Notifications and comparison

def _fmt_labels(labels: dict) -> str:
    return _labels_key(labels)


@dataclass
class Notification:
    at: float
    receiver: str
    group_key: str
    status: str
    alerts: tuple  # sorted ((labels string, status), ...)
    details: dict
    body: Any

    def key(self) -> tuple[str, str]:
        return self.receiver, self.group_key

    def content(self) -> tuple:
        return self.status, self.alerts

    def brief(self) -> str:
        return f"t={self.at:6.2f}  {self.status:8s} " + "  ".join(f"[{l}:{s}]" for l, s in self.alerts)


def _rel(ts: str | None, t0: float) -> float | None:
    try:
        v = parse_rfc3339(ts) if ts else None
    except ValueError:
        return None
    return None if v is None else round(v - t0, 3)


def to_notification(rec, tag: str, t0: float) -> Notification | None:
    path = rec.path
    if not path.startswith(f"/{tag}/"):
        return None
    receiver = path[len(tag) + 2:]
    body = rec.json if isinstance(rec.json, dict) else {}
    alerts_raw = body.get("alerts") if isinstance(body.get("alerts"), list) else []
    alerts = tuple(sorted((_fmt_labels(a.get("labels") or {}), str(a.get("status"))) for a in alerts_raw))
    details = {
        "receiver": body.get("receiver"),
        "version": body.get("version"),
        "truncatedAlerts": body.get("truncatedAlerts"),
        "groupLabels": body.get("groupLabels"),
        "commonLabels": body.get("commonLabels"),
        "commonAnnotations": body.get("commonAnnotations"),
        "alert order": [_fmt_labels(a.get("labels") or {}) for a in alerts_raw],
        "alerts": [{"labels": _fmt_labels(a.get("labels") or {}), "annotations": a.get("annotations"),
                    "fingerprint": a.get("fingerprint"), "generatorURL": a.get("generatorURL"),
                    "startsAt": _rel(a.get("startsAt"), t0), "endsAt": _rel(a.get("endsAt"), t0)}
                   for a in alerts_raw],
    }
    if not isinstance(rec.json, dict):
        details["body"] = rec.body[:300].decode("utf-8", errors="replace")
    return Notification(at=round(rec.at - t0, 3), receiver=receiver, group_key=str(body.get("groupKey")),
                        status=str(body.get("status")), alerts=alerts, details=details, body=rec.json)


def _details_diff(a: dict, b: dict, tol: float) -> list[str]:
    out = []
    for k in a.keys() | b.keys():
        x, y = a.get(k), b.get(k)
        if k == "alerts" and isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (p, q) in enumerate(zip(x, y)):
                for f in p.keys() | q.keys():
                    u, v = p.get(f), q.get(f)
                    if f in ("startsAt", "endsAt") and u is not None and v is not None:
                        if abs(u - v) > tol:
                            out.append(f"alerts[{i}].{f}: {u} vs {v}")
                    elif u != v:
                        out.append(f"alerts[{i}].{f}: {json.dumps(u, sort_keys=True)} vs {json.dumps(v, sort_keys=True)}")
        elif x != y:
            out.append(f"{k}: {json.dumps(x, sort_keys=True)} vs {json.dumps(y, sort_keys=True)}")
    return sorted(out)


def compare(left: list[Notification], right: list[Notification], names: tuple[str, str],
            tolerance: float = DEFAULT_TOLERANCE, details: bool = True) -> list[str]:
    """Problems (empty = equal). Notifications are compared per (receiver, groupKey) in arrival order."""
    problems: list[str] = []
    la, lb = names
    keys = sorted({n.key() for n in left} | {n.key() for n in right})
    for key in keys:
        xs = [n for n in left if n.key() == key]
        ys = [n for n in right if n.key() == key]
        bad = []
        for i in range(max(len(xs), len(ys))):
            x = xs[i] if i < len(xs) else None
            y = ys[i] if i < len(ys) else None
            if x is None or y is None:
                bad.append((i, x, y, ["missing on " + (la if x is None else lb)]))
                continue
            why = []
            if x.content() != y.content():
                why.append("content differs")
            if abs(x.at - y.at) > tolerance:
                why.append(f"arrival differs by {y.at - x.at:+.2f}s (tolerance {tolerance}s)")
            if details:
                why += [f"detail {d}" for d in _details_diff(x.details, y.details, tolerance)]
            if why:
                bad.append((i, x, y, why))
        if bad:
            lines = [f"receiver {key[0]!r}, groupKey {key[1]}: {len(xs)} on {la}, {len(ys)} on {lb}"]
            for i in range(max(len(xs), len(ys))):
                x = xs[i] if i < len(xs) else None
                y = ys[i] if i < len(ys) else None
                entry = next((b for b in bad if b[0] == i), None)
                mark = "!!" if entry else "  "
                lines.append(f"  {mark} #{i} {la:>8}: {x.brief() if x else '(none)'}")
                lines.append(f"  {mark} #{i} {lb:>8}: {y.brief() if y else '(none)'}")
                if entry:
                    lines += [f"        {w}" for w in entry[3]]
            problems.append("\n".join(lines))
    if len(left) != len(right):
        problems.append(f"global count: {len(left)} notifications on {la}, {len(right)} on {lb}")
    return problems


def check_expectations(got: list[Notification], expect: list[dict], label: str,
                       tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
    """Compares one target's notifications with the scenario's expect list (same per-key rules)."""
    want = []
    for e in expect:
        alerts = []
        for s in e["alerts"]:
            labels, _, status = s.rpartition(":")
            alerts.append((labels, status))
        want.append(Notification(at=float(e["at"]), receiver=e["receiver"], group_key=e["groupKey"],
                                 status=e["status"], alerts=tuple(sorted(alerts)), details={}, body=None))
    return compare(want, got, ("expected", label), tolerance, details=False)


# ---------------------------------------------------------------------------------------------
# Running

@dataclass
class ScenarioResult:
    scenario: Scenario
    targets: list[TargetRun]
    problems: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self, verbose: bool = False) -> str:
        head = f"{'PASS' if self.ok else 'FAIL'} {self.scenario.name} ({self.seconds:.1f}s; " + ", ".join(
            f"{t.label}: {len(t.notifications)} notifications" for t in self.targets) + ")"
        out = [head]
        if self.problems:
            out += ["  " + p.replace("\n", "\n  ") for p in self.problems]
        if verbose or not self.ok:
            for t in self.targets:
                out.append(f"  --- {t.label} notifications (arrival order)")
                for n in t.notifications:
                    out.append(f"    {n.receiver:8s} {n.group_key}\n      {n.brief()}")
        return "\n".join(out)


def _labels_for(kinds: list[str]) -> list[str]:
    labels = []
    for i, k in enumerate(kinds):
        labels.append(f"{k}#{i + 1}" if kinds.count(k) > 1 else k)
    return labels


def run_scenario(sc: Scenario, kinds: list[str], recorder: WebhookReceiver | None = None,
                 tolerance: float = DEFAULT_TOLERANCE, details: bool = True, keep: bool = False,
                 settle: float = 0.3) -> ScenarioResult:
    """Starts every target, drives the scenario on all of them at once, compares."""
    started = time.monotonic()
    own_recorder = recorder is None
    recorder = recorder or WebhookReceiver()
    tmp = tempfile.mkdtemp(prefix=f"am-diff-{sc.name}-")
    runs: list[TargetRun] = []
    problems: list[str] = []
    try:
        for kind, label in zip(kinds, _labels_for(kinds)):
            runs.append(_setup_target(kind, label, sc, recorder, os.path.join(tmp, label.replace("#", ""))))
        start_errors: list[str] = []

        def start(tr: TargetRun):
            try:
                tr.process.start()
            except ServerError as e:  # the message carries the log already
                start_errors.append(f"{tr.label}: {e}")
                tr.errors.append("start failed")

        threads = [threading.Thread(target=start, args=(tr,)) for tr in runs]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        problems += start_errors
        if not start_errors:
            # One clock for every target: t = 0 is the same instant everywhere.
            m0 = time.monotonic() + 0.2
            t0 = time.time() + 0.2
            drivers = [threading.Thread(target=_drive, args=(tr, sc, t0, m0)) for tr in runs]
            for th in drivers:
                th.start()
            for th in drivers:
                th.join()
            left = m0 + sc.duration - time.monotonic()
            if left > 0:
                time.sleep(left)
            records = recorder.snapshot()
            for tr in runs:
                tr.notifications = [n for n in (to_notification(r, tr.tag, t0) for r in records)
                                    if n is not None and n.at <= sc.duration]
                problems += [f"{tr.label}: {e}" for e in tr.errors]
            if len(runs) >= 2:
                problems += compare(runs[0].notifications, runs[1].notifications, (runs[0].label, runs[1].label),
                                    tolerance, details)
            for tr in runs:
                if tr.kind == "am" and sc.expect is not None:
                    exp = check_expectations(tr.notifications, sc.expect, tr.label, tolerance)
                    problems += [f"{tr.label} vs the scenario's expect list (a harness/scenario problem):\n{p}"
                                 for p in exp]
            time.sleep(settle)
    finally:
        for tr in runs:
            if tr.process is not None:
                tr.process.stop()
        if own_recorder:
            recorder.close()
        if problems:
            for tr in runs:
                if tr.process is not None and "start failed" not in tr.errors:
                    problems.append(f"--- {tr.label} log tail ({tr.process.log_path}) ---\n"
                                    + _log_tail(tr.process, 3000))
        if keep:
            sys.stderr.write(f"kept {tmp}\n")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return ScenarioResult(sc, runs, problems, time.monotonic() - started)


def _log_tail(proc, n: int) -> str:
    try:
        return proc.log_tail(n)
    except Exception as e:  # noqa: BLE001 - the log may be gone with the temp dir
        return f"(no log: {e})"


def run_all(scenarios: list[Scenario], kinds: list[str], jobs: int = 0, **kw) -> list[ScenarioResult]:
    """Runs scenarios concurrently (jobs = 0: all at once), one shared recorder."""
    recorder = WebhookReceiver()
    try:
        n = jobs or len(scenarios) or 1
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            futs = [pool.submit(run_scenario, sc, kinds, recorder, **kw) for sc in scenarios]
            return [f.result() for f in futs]
    finally:
        recorder.close()


# ---------------------------------------------------------------------------------------------
# CLI

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default="all", help="a name, a comma-separated list, a .json path, or all "
                   f"(known: {', '.join(scenario_names())})")
    p.add_argument("--targets", default="am,tocsin", help="am,tocsin (default), am,am (harness self-check) or "
                   "one target (checked against the scenario's expect list only)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="arrival time tolerance, seconds")
    p.add_argument("--jobs", type=int, default=0, help="scenarios run concurrently (0 = all)")
    p.add_argument("--repeat", type=int, default=1, help="run everything N times")
    p.add_argument("--no-details", action="store_true", help="compare only status/alerts/timing, not body details")
    p.add_argument("--verbose", "-v", action="store_true", help="print every notification, also on PASS")
    p.add_argument("--show-bodies", action="store_true", help="print every v4 body the first target received")
    p.add_argument("--keep", action="store_true", help="keep the temp dirs (configs, logs)")
    p.add_argument("--write-configs", metavar="DIR", help="only write each scenario's alertmanager.yml and "
                   "tocsin.yaml under DIR/<scenario>/ (recorder http://127.0.0.1:9999) and exit")
    args = p.parse_args(argv)

    names = scenario_names() if args.scenario == "all" else args.scenario.split(",")
    try:
        scenarios = [load_scenario(n) for n in names]
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.write_configs:
        for sc in scenarios:
            d = os.path.join(args.write_configs, sc.name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "alertmanager.yml"), "w") as f:
                f.write(alertmanager_config(sc, f"http://127.0.0.1:9999/{sc.name}"))
            with open(os.path.join(d, "tocsin.yaml"), "w") as f:
                f.write(tocsin_config(sc, f"http://127.0.0.1:9999/{sc.name}", 9094, os.path.join(d, "data")))
            print(f"wrote {d}/alertmanager.yml and tocsin.yaml")
        return 0
    kinds = [k.strip() for k in args.targets.split(",") if k.strip()]
    if not 1 <= len(kinds) <= 2 or any(k not in ("am", "tocsin") for k in kinds):
        print("error: --targets takes one or two of am, tocsin", file=sys.stderr)
        return 2
    if "am" in kinds and not alertmanager_bin():
        print("error: prometheus-alertmanager not found (set ALERTMANAGER_BIN)", file=sys.stderr)
        return 2
    failed = 0
    total = 0
    started = time.monotonic()
    for rep in range(args.repeat):
        if args.repeat > 1:
            print(f"=== run {rep + 1}/{args.repeat}")
        results = run_all(scenarios, kinds, jobs=args.jobs, tolerance=args.tolerance,
                          details=not args.no_details, keep=args.keep)
        for res in results:
            total += 1
            failed += not res.ok
            print(res.report(args.verbose))
            if args.show_bodies and res.targets:
                for n in res.targets[0].notifications:
                    print(f"  --- t={n.at:.3f} POST /{res.targets[0].tag}/{n.receiver}")
                    print("  " + json.dumps(n.body, indent=2).replace("\n", "\n  "))
        sys.stdout.flush()
    print(f"{total - failed}/{total} scenario runs passed in {time.monotonic() - started:.1f}s "
          f"(targets {','.join(kinds)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
