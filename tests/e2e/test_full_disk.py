"""A full disk and a read-only data dir, for real: the data dir is a small tmpfs mounted for the
test (needs root and permission to mount; skipped otherwise).

test_full_disk_refuses_writes_and_recovers: with the server running, a filler file takes all the
free space; notes are added to an incident until the store's write fails. From then on every write
(notes, sample pushes) is answered 503 with an error naming the data dir and saying it is full,
the note that failed is not in the incident (nothing half-applied), GETs are still served, /readyz
is not ready and says why, and /metrics shows it. Once the filler is deleted the server finds out
by itself (its probe, once a second): /readyz is ready again and writes work, without a restart.

test_file_size_limit_refuses_writes_and_recovers: the same with the process's file size limit
(RLIMIT_FSIZE, lowered and raised again with prlimit on the running server): writes fail with
EFBIG (SQLITE_IOERR), the server is not killed by SIGXFSZ, and recovers.

test_read_only_data_dir_stops_the_start: a data dir on a read-only mount: `tocsin serve` exits
non-zero with an error naming the data dir.

Run (as root): TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_full_disk
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import RULE_FOR_SECONDS, LogsOnFailure, Tocsin, WebhookReceiver, free_port, tocsin_bin, wait_until, \
    write_config

TMPFS_SIZE = "48m"


def mount_tmpfs(path: str, options: str) -> str | None:
    """Mounts a tmpfs at `path`; None when done, else why not."""
    if os.geteuid() != 0:
        return "not root"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], capture_output=True, text=True)
    return None if r.returncode == 0 else f"mount failed: {r.stderr.strip()}"


def umount(path: str) -> None:
    subprocess.run(["umount", "-l", path], capture_output=True)


class FullDiskTest(LogsOnFailure):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tocsin-e2e-disk-")
        self.data = os.path.join(self.tmp, "data")
        os.makedirs(self.data)
        self.mounted = False
        self.server = None
        self.receiver = WebhookReceiver()

    def tearDown(self):
        try:
            if self.server and self.server.alive():
                self.server.stop()
        finally:
            self.receiver.close()
            if self.mounted:
                umount(self.data)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def mount(self, options: str) -> None:
        why = mount_tmpfs(self.data, options)
        if why:
            self.skipTest(f"needs a tmpfs for the data dir: {why}")
        self.mounted = True

    def fill(self) -> str:
        """Fills the data dir's file system to the last byte; returns the filler's path."""
        path = os.path.join(self.data, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 4096, 512, 1):  # big writes, then smaller ones take the last pages
                while True:
                    try:
                        os.write(fd, b"\0" * size)
                    except OSError as e:
                        self.assertEqual(e.errno, errno.ENOSPC, e)
                        break
        finally:
            os.close(fd)
        return path

    def note(self, iid: str, text: str):
        return self.server.post(f"/api/v1/incidents/{iid}/notes", {"actor": "carol", "text": text})

    def metric(self, name: str) -> float:
        m = re.search("^" + re.escape(name) + r" (\S+)$", self.server.get("/metrics").text, re.M)
        self.assertIsNotNone(m, f"{name} not in /metrics")
        return float(m.group(1))

    def test_full_disk_refuses_writes_and_recovers(self):
        self.mount(f"size={TMPFS_SIZE}")
        port = free_port()
        self.server = Tocsin(write_config(self.tmp, port, self.receiver.url), port)
        self.server.start()
        r = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.95}])
        self.assertEqual(r.status // 100, 2, r)
        iid = wait_until(lambda: next((i["id"] for i in self.server.incidents()), None), RULE_FOR_SECONDS + 8)
        self.assertIsNotNone(iid, "no incident")
        self.assertEqual(self.metric("tocsin_data_dir_writable"), 1)

        filler = self.fill()
        # SQLite may still find room in the pages and WAL it already has: write until it does not.
        refused = None
        text = "x" * 4000
        for n in range(3000):
            r = self.note(iid, f"note {n} {text}")
            if r.status != 200:
                refused = (n, r)
                break
        self.assertIsNotNone(refused, "3000 notes of 4 kB went into a full file system")
        n, r = refused
        sys.stderr.write(f"\n  write {n + 1} after the disk filled was refused: {r.json}\n")
        self.assertEqual(r.status, 503, r)
        self.assertRegex(r.json["error"], rf"the data dir {re.escape(self.data)} (is full \(SQLITE_FULL\)|does not take "
                                          rf"writes \(SQLITE_IOERR)", r)
        # Nothing half-applied: the refused note is not there.
        inc = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(inc.status, 200, "GETs are still served")
        details = [e["detail"] for e in inc.json["timeline"] if e["kind"] == "note"]
        self.assertNotIn(f"note {n} {text}", details)
        self.assertIn(f"note {n - 1} {text}", details) if n > 0 else None
        # Every write is refused now, samples too, with the same error; reads go on.
        again = self.note(iid, "one more")
        self.assertEqual(again.status, 503, again)
        self.assertIn(f"the data dir {self.data}", again.json["error"])
        pushed = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": "h2"},
                                    "value": 0.5}])
        self.assertEqual(pushed.status, 503, pushed)
        self.assertEqual(self.server.get("/api/v1/incidents").status, 200)
        ready = self.server.get("/readyz")
        self.assertEqual(ready.status, 503, ready)
        self.assertIn("not ready: the data dir", ready.json["error"])
        self.assertEqual(self.metric("tocsin_data_dir_writable"), 0)
        self.assertGreaterEqual(self.metric("tocsin_store_writes_refused_total"), 1)
        self.assertTrue(self.server.alive())
        log = self.server.log_tail(200000)
        self.assertEqual(log.count("the data dir does not take writes"), 1, "logged once per episode")

        # Space returns: the server notices by itself, and writes work again.
        os.remove(filler)
        self.assertTrue(wait_until(lambda: self.server.get("/readyz").status == 200, 10),
                        f"not ready again: {self.server.get('/readyz')!r}")
        self.assertEqual(self.metric("tocsin_data_dir_writable"), 1)
        ok = self.note(iid, "after the disk had room again")
        self.assertEqual(ok.status, 200, ok)
        self.assertIn("the data dir takes writes again", self.server.log_tail(200000))
        pushed = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": "h2"},
                                    "value": 0.5}])
        self.assertEqual(pushed.status // 100, 2, pushed)

    def test_file_size_limit_refuses_writes_and_recovers(self):
        # RLIMIT_FSIZE lowered on the running server (soft limit only, so it can be raised again):
        # every write to a file fails with EFBIG (SIGXFSZ is ignored, so it is not killed).
        if shutil.which("prlimit") is None:
            self.skipTest("needs prlimit (util-linux)")
        port = free_port()
        self.server = Tocsin(write_config(self.tmp, port, self.receiver.url), port)
        self.server.start()
        r = self.server.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.95}])
        self.assertEqual(r.status // 100, 2, r)
        iid = wait_until(lambda: next((i["id"] for i in self.server.incidents()), None), RULE_FOR_SECONDS + 8)
        self.assertIsNotNone(iid, "no incident")
        pid = str(self.server.proc.pid)
        limited = subprocess.run(["prlimit", "--pid", pid, "--fsize=0:"], capture_output=True, text=True)
        if limited.returncode != 0:
            self.skipTest(f"prlimit not permitted: {limited.stderr.strip()}")
        r = self.note(iid, "under the file size limit")
        self.assertEqual(r.status, 503, r)
        self.assertIn(f"the data dir {self.data} does not take writes (SQLITE_IOERR", r.json["error"])
        self.assertTrue(self.server.alive(), "SIGXFSZ did not kill it")
        self.assertEqual(self.server.get(f"/api/v1/incidents/{iid}").status, 200)
        self.assertNotIn("under the file size limit",
                         [e["detail"] for e in self.server.get(f"/api/v1/incidents/{iid}").json["timeline"]])
        self.assertEqual(self.server.get("/readyz").status, 503)
        subprocess.run(["prlimit", "--pid", pid, "--fsize=unlimited:"], check=True)
        self.assertTrue(wait_until(lambda: self.server.get("/readyz").status == 200, 10), "not ready again")
        self.assertEqual(self.note(iid, "after").status, 200)

    def test_read_only_data_dir_stops_the_start(self):
        self.mount("size=4m,ro")
        port = free_port()
        config = write_config(self.tmp, port, self.receiver.url)
        r = subprocess.run([tocsin_bin(), "serve", "--config", config], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, r)
        out = r.stdout + r.stderr
        self.assertIn(f"the data dir {self.data} does not take writes", out)
        self.assertEqual(os.listdir(self.data), [], "nothing written")


if __name__ == "__main__":
    unittest.main()
