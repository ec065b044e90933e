"""Crash safety under load, compressed for CI: bench/chaos (docs/benchmarks.md, "Crash safety
under load") with 5 kills instead of 100. The server is SIGKILLed at random moments while alerts,
re-sends, samples (push and remote_write), notes and acknowledgements are written and escalation
ladders page three people a second apart; every write that got a 2xx must be there after each
restart, and every due page must have been sent once (copies of one notification, sent again
after a kill, are counted, not failed).

The second half checks the checker: writes and pages that never happened, slipped into its
records, must be reported as lost or doubled.
"""

from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "chaos"))

import chaos  # noqa: E402
import harness  # noqa: E402


class ChaosUnderLoad(harness.LogsOnFailure):
    def test_five_kills_lose_nothing_and_page_once(self):
        # Whether a ladder step falls due while the server is up long enough to page it (and
        # before a random acknowledgement stops the ladder) depends on the run's timing: a run in
        # which none did checked no escalation, so it is run again with the next seed (every
        # run's writes and pages are checked all the same).
        for seed in (7, 8, 9):
            self.chaos = chaos.Chaos(harness.tocsin_bin(), kills=5, seed=seed, min_delay=0.5, max_delay=2.5,
                                     keep=False, log=lambda m: sys.stderr.write(m + "\n"))
            self.server, self.receiver = self.chaos.server, self.chaos.receiver  # for LogsOnFailure
            try:
                result = self.chaos.run()
                chaos.print_summary(result, sys.stderr)
                self.assertTrue(result["ok"], result)
                for kind in ("alert", "alert_resend", "sample_push", "sample_remote_write", "note"):
                    self.assertGreater(result["acknowledged"][kind], 0, f"no {kind} was acknowledged: {result}")
                self.assertGreater(result["pages_sent"], 0, result)
                self.assertEqual(result["deliveries"], result["pages_sent"] + result["redeliveries"], result)
                if result["due_steps"] > 0:
                    self.checker_reports_what_never_happened()
                    return
            finally:
                self.chaos.close()
        self.fail("no run of three had a ladder step due while the server was up: escalation was not checked")

    def checker_reports_what_never_happened(self):
        c = self.chaos
        # Pages, from the store left by the run: a delivery the receiver never got, a copy of one
        # delivery, and a step escalated twice.
        records = c.receiver.records
        saved = list(records)
        # A notification delivered once (a redelivered one would still have its copy).
        nid = next(r.headers["X-Tocsin-Notification-Id"] for r in saved
                   if sum(x.headers["X-Tocsin-Notification-Id"] == r.headers["X-Tocsin-Notification-Id"]
                          for x in saved) == 1)
        first = next(r for r in saved if r.headers["X-Tocsin-Notification-Id"] == nid)
        records.remove(first)
        pages = c.check_pages(c.incidents_at_end, c.db_path)
        self.assertEqual(len(pages["pages_lost"]), 1, pages["pages_lost"])
        self.assertIn(f"notification {nid} ", pages["pages_lost"][0])
        records[:] = saved + [first]
        pages = c.check_pages(c.incidents_at_end, c.db_path)
        self.assertEqual(pages["pages_lost"], [])
        self.assertIn(int(nid), pages["redelivered_notifications"])
        # The copy arrived with no kill in between (it is the same record): the deliverer sending twice.
        self.assertEqual(len(pages["pages_doubled"]), 1, pages["pages_doubled"])
        self.assertIn("no kill in between", pages["pages_doubled"][0])
        records[:] = saved
        i = next(i for i, inc in enumerate(c.incidents_at_end) if any(e["kind"] == "escalated" for e in inc["timeline"]))
        inc = dict(c.incidents_at_end[i])
        step = next(e for e in inc["timeline"] if e["kind"] == "escalated")
        inc["timeline"] = inc["timeline"] + [step]
        pages = c.check_pages(c.incidents_at_end[:i] + [inc] + c.incidents_at_end[i + 1:], c.db_path)
        self.assertEqual(len(pages["pages_doubled"]), 1, pages["pages_doubled"])

        # Writes, against the restarted server: acknowledgements for things never sent.
        c.start_server()
        c.losses.clear()
        with c.acked.lock:
            c.acked.alerts["NeverSent"] = 1.0
            c.acked.samples.append((c.up[-1][0], "w1", "never", 1, 0.5, "push", ""))
            iid = c.incidents_at_end[0]["id"]
            c.acked.notes.append((c.up[-1][0], iid, "a note nobody wrote"))
            c.acked.acks.append((c.up[-1][0], iid, "nobody"))
        c.check_alerts()
        c.check_samples()
        c.check_incident_writes()
        self.assertEqual(sorted(c.losses), ["ack", "alert", "note", "sample"], dict(c.losses))
        for kind in ("ack", "alert", "note", "sample"):
            self.assertEqual(len(c.losses[kind]), 1, c.losses[kind])
        c.server.stop()


if __name__ == "__main__":
    unittest.main()
