"""kill -9 right after a 2xx to an alert re-send (issue 4): the re-send is not lost.

A re-sent alert whose only change is its end time (how Prometheus re-sends every firing alert)
is made durable in the alert time log, not in SQLite (src/store/sqlite/alert_time_log.h). On a
simulated clock: an alert is POSTed with endsAt = now + 4m, re-sent with endsAt = now + 10m,
and the process is killed with SIGKILL right after the re-send's 2xx. After the restart the
alert must still end at now + 10m: firing 5 minutes later, resolved 11 minutes later — and the
same after a clean stop and start, when the log has been written into the database.
"""

from __future__ import annotations

import datetime as dt
import unittest

from harness import ServerTestCase, parse_time, rfc3339

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


class KillAfterResend(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]

    def now(self) -> dt.datetime:
        return parse_time(self.server.get("/api/v1/clock").json["now"])

    def advance(self, **body) -> dt.datetime:
        r = self.server.post("/api/v1/clock/advance", body)
        self.assertEqual(r.status, 200, f"advance {body}: {r!r}")
        return parse_time(r.json["now"])

    def restart(self, kill: bool) -> None:
        stopped_at = self.now()
        if kill:
            self.server.kill()
        else:
            self.assertEqual(self.server.stop(), 0)
        self.server.serve_args = ["--simulated-clock", rfc3339(stopped_at)]
        self.server.start()

    def alert(self, name: str, ends: dt.datetime) -> dict:
        return {"labels": {"alertname": name, "service": "resend"}, "annotations": {"summary": "re-sent"},
                "startsAt": rfc3339(START), "endsAt": rfc3339(ends),
                "generatorURL": "http://prometheus.example:9090/graph"}

    def ends_at(self, name: str) -> dt.datetime | None:
        got = [a for a in self.server.get("/api/v2/alerts").json if a["labels"]["alertname"] == name]
        return parse_time(got[0]["endsAt"]) if got else None

    def check_resend_survives(self, name: str, kill: bool):
        t0 = self.now()
        first, later = t0 + dt.timedelta(minutes=4), t0 + dt.timedelta(minutes=10)
        self.assertEqual(self.server.post("/api/v2/alerts", [self.alert(name, first)]).status, 200)
        self.assertEqual(self.server.post("/api/v2/alerts", [self.alert(name, later)]).status, 200)
        self.assertEqual(self.ends_at(name), later)
        self.restart(kill)
        self.assertEqual(self.ends_at(name), later, "the re-send's endsAt was lost")
        self.advance(by="5m")  # past the first endsAt: still firing
        self.assertEqual(self.ends_at(name), later)
        self.advance(by="6m")  # past the re-sent endsAt: resolved, no longer listed as active
        self.assertIsNone(self.ends_at(name))

    def test_resend_survives_kill_then_clean_restart(self):
        self.check_resend_survives("ResendKilled", kill=True)
        self.check_resend_survives("ResendStopped", kill=False)


if __name__ == "__main__":
    unittest.main()
