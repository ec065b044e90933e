"""The PostgreSQL store end to end (docs/high-availability.md): `tocsin serve` with
server.store: postgres://… runs the basic loop against a throwaway PostgreSQL — a crossing sample
opens an incident, the on-call person is paged, an ack sticks — and after a restart of tocsin the
incident is still there and still acknowledged; `tocsin report` reads it, `tocsin backup` refuses
(it copies SQLite only). /readyz follows the database; a database that
cannot be reached stops `tocsin serve` from starting, naming server.store.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unittest

from harness import (Tocsin, RULE_FOR_SECONDS, free_port, http_request, on_call_candidates, parse_time, tocsin_bin,
                     wait_until, write_config)
from pg_server import PostgresSuite, with_store
import subprocess


class PostgresStoreTest(PostgresSuite):
    @classmethod
    def setUpClass(cls):
        cls.start_suite("tocsin-e2e-pg-")
        cls.uri = cls.pg.create_database("tocsin")
        cls.port = free_port()
        cls.config_path = write_config(cls.tmp, cls.port, cls.receiver.url)
        with_store(cls.config_path, cls.uri)
        cls.server = Tocsin(cls.config_path, cls.port)
        cls.servers.append(cls.server)

    def incident(self, iid: str) -> dict:
        r = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(r.status, 200, f"GET incident {iid}: {r!r}")
        return r.json

    def readyz(self) -> int:
        try:
            return http_request("GET", self.server.url("/readyz"), timeout=5.0).status
        except OSError:
            return 0

    def test_basic_loop_survives_a_restart_and_readyz_follows_the_database(self):
        s = self.server
        s.start()
        self.assertEqual(self.readyz(), 200)

        # 1. A crossing sample opens an incident, which is in PostgreSQL, not in a SQLite file.
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.95}])
        self.assertEqual(r.status // 100, 2, f"push: {r!r}")
        self.assertTrue(wait_until(lambda: s.incidents(), RULE_FOR_SECONDS + 8), "no incident opened")
        inc = s.incidents()[0]
        iid = str(inc["id"])
        self.assertEqual(inc["status"], "triggered")
        rows = self.pg.psql("tocsin", "SELECT id, status FROM incidents").split()
        self.assertEqual(rows, [f"{iid}|triggered"], "the incident row in PostgreSQL")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "data", "tocsin.db")),
                         "with server.store set, no SQLite store is created in data_dir")

        # 2. The on-call person is paged.
        candidates = on_call_candidates(parse_time(inc["opened_at"]))
        pages = self.receiver.wait_for(lambda p: p.strip("/") in candidates, 1, timeout=10.0)
        self.assertTrue(pages, f"no page to {candidates}: {self.receiver.describe()}")
        self.assertIn(iid, pages[0].body.decode(errors="replace"), "the page names the incident")

        # 3. Ack.
        r = s.post(f"/api/v1/incidents/{iid}/ack", {"actor": "alice"})
        self.assertEqual(r.status, 200, f"ack: {r!r}")
        acked_at = self.incident(iid)["acknowledged_at"]
        self.assertIsNotNone(acked_at)

        # 4. Restart tocsin: the incident is still acknowledged, and no second incident opens.
        self.assertEqual(s.stop(), 0, "tocsin exits 0 on SIGTERM")
        s.start()
        after = self.incident(iid)
        self.assertEqual(after["status"], "acknowledged", json.dumps(after)[:2000])
        self.assertEqual(after["acknowledged_at"], acked_at)
        self.assertTrue(any(e.get("kind") == "acknowledged" for e in after["timeline"]), after["timeline"])
        self.assertEqual(len(s.incidents()), 1)

        # 5. The commands that read the store read the same database.
        cp = s.cli("report", "postmortem", iid, "--config", self.config_path)
        self.assertEqual(cp.returncode, 0, f"tocsin report postmortem: {cp.stdout}\n{cp.stderr}")
        self.assertIn("acknowledged", cp.stdout.lower(), cp.stdout[:2000])
        cp = s.cli("backup", "--config", self.config_path, "--out", os.path.join(self.tmp, "backup"))
        self.assertNotEqual(cp.returncode, 0, "tocsin backup of a PostgreSQL store")
        self.assertIn("pg_dump", cp.stdout + cp.stderr)

        # 6. /readyz follows the database: unready while PostgreSQL is down, ready once it is back.
        self.pg.stop()
        self.assertTrue(wait_until(lambda: self.readyz() == 503, 10.0), f"/readyz stays {self.readyz()}")
        self.pg.start()
        self.assertTrue(wait_until(lambda: self.readyz() == 200, 15.0), f"/readyz stays {self.readyz()}")
        self.assertEqual(self.incident(iid)["status"], "acknowledged")

    def test_an_unreachable_database_stops_serve_from_starting(self):
        tmp = tempfile.mkdtemp(prefix="tocsin-e2e-pg-bad-")
        try:
            config = write_config(tmp, free_port(), "http://127.0.0.1:9")
            dead = free_port()  # nothing listens there
            with_store(config, f"postgres://postgres:s3cret@127.0.0.1:{dead}/tocsin?connect_timeout=2")
            cp = subprocess.run([tocsin_bin(), "serve", "--config", config], capture_output=True, text=True,
                                timeout=30)
            self.assertNotEqual(cp.returncode, 0)
            out = cp.stdout + cp.stderr
            self.assertIn("server.store", out)
            self.assertNotIn("s3cret", out, "the password is not printed")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
