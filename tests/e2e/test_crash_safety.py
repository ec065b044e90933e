"""kill -9 while an escalation is pending and a delivery is being retried (issue 5): after the
restart each page is sent exactly once — not zero times, not twice.

On a simulated clock: the incident opens and level 1 pages bob, whose receiver answers HTTP 500
twice, so the page waits for a retry; level 2 (carol, ops-hook) is still ten minutes away. Then
the process is killed with SIGKILL and started again on the same data directory, its simulated
clock resuming where it stopped. Advancing past the retries and past level 2 must deliver bob's
page once and level 2's pages once each.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import unittest

from harness import RULE_FOR_SECONDS, ServerTestCase, parse_time, rfc3339, wait_until

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)  # bob is on call until 09:00


class KillDuringEscalation(ServerTestCase):
    serve_args = ["--simulated-clock", rfc3339(START)]

    def now(self) -> dt.datetime:
        return parse_time(self.server.get("/api/v1/clock").json["now"])

    def advance(self, **body) -> dt.datetime:
        r = self.server.post("/api/v1/clock/advance", body)
        self.assertEqual(r.status, 200, f"advance {body}: {r!r}")
        return parse_time(r.json["now"])

    def test_each_page_exactly_once_across_a_kill(self):
        s = self.server
        self.receiver.fail_next["/bob"] = 2
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.97}])
        self.assertEqual(r.status, 200, r)
        self.advance(by=f"{int(RULE_FOR_SECONDS) + 1}s")
        incidents = s.incidents()
        self.assertEqual(len(incidents), 1)
        iid = incidents[0]["id"]
        self.assertEqual(len(self.receiver.refused), 1, "bob's first attempt was refused")
        self.assertEqual(self.receiver.snapshot("/bob"), [], "not delivered yet: a retry is pending")

        # Crash: the retry and level 2 are both pending.
        stopped_at = self.now()
        s.kill()
        s.serve_args = ["--simulated-clock", rfc3339(stopped_at)]
        s.start()
        self.assertEqual(self.now(), stopped_at)

        self.advance(by="2m")  # past the back-off: the second attempt fails, the third gets through
        self.assertEqual(len(self.receiver.refused), 2, self.receiver.describe())
        self.assertEqual(len(self.receiver.snapshot("/bob")), 1, self.receiver.describe())
        self.advance(by="15m")  # level 2 is due 10 minutes after the opening
        self.assertEqual(len(self.receiver.snapshot("/bob")), 1, "bob paged twice:\n" + self.receiver.describe())
        self.assertEqual(len(self.receiver.snapshot("/carol")), 1, self.receiver.describe())
        self.assertEqual(len(self.receiver.snapshot("/hook")), 1, self.receiver.describe())

        # Once more, after everything was sent: a second crash sends nothing again.
        stopped_at = self.now()
        s.kill()
        s.serve_args = ["--simulated-clock", rfc3339(stopped_at)]
        s.start()
        self.advance(by="5m")
        self.assertEqual(len(self.receiver.snapshot("/bob")), 1)
        self.assertEqual(len(self.receiver.snapshot("/carol")), 1)
        self.assertEqual(len(self.receiver.snapshot("/hook")), 1)
        inc = s.get(f"/api/v1/incidents/{iid}").json
        notified = [e for e in inc["timeline"] if e["kind"] == "notified"]
        self.assertEqual(len(notified), 3, inc["timeline"])


class CrashLoop(ServerTestCase):
    """A server killed again and again within a minute of starting (a crash loop) must still cut
    its sample log: samples replayed at a start are put into a snapshot on the first pass, not a
    minute later (which a crash loop never reaches), so the log and the replay stay small."""

    def segments(self) -> list[str]:
        return sorted(os.listdir(os.path.join(self.tmp, "data", "sample-log")))

    def test_a_start_that_replays_samples_saves_a_snapshot_at_once(self):
        s = self.server
        t0 = int(time.time() * 1000)
        r = s.push([{"name": "crash_loop", "labels": {"i": str(i)}, "value": i, "ts": t0 + i} for i in range(5)])
        self.assertEqual(r.status, 200, r)
        snapshot = os.path.join(self.tmp, "data", "series.snapshot")
        self.assertFalse(os.path.exists(snapshot), "no snapshot yet: the first is due a minute after the start")
        before = self.segments()
        self.assertEqual(len(before), 1, before)

        s.kill()
        s.start()
        self.assertTrue(wait_until(lambda: os.path.exists(snapshot), 10),
                        f"no series.snapshot 10 s after a start that replayed samples; segments {self.segments()}")
        self.assertTrue(wait_until(lambda: before[0] not in self.segments(), 10),
                        f"the replayed segment {before[0]} was not deleted: {self.segments()}")

        # The samples are in the snapshot now: a second kill keeps them.
        s.kill()
        s.start()
        got = s.get(f"/api/v1/series?match=crash_loop&start={t0 - 1}&end={t0 + 10}").json
        points = sorted((x["labels"]["i"], x["points"]) for x in got["series"])
        self.assertEqual(points, [(str(i), [[t0 + i, i]]) for i in range(5)], got)


if __name__ == "__main__":
    unittest.main()
