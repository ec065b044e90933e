"""`tocsin migrate` end to end (docs/operations.md#moving-from-sqlite-to-postgresql): a tocsin
running on its embedded SQLite store gets an incident, an ack and a silence; it stops;
`tocsin migrate --from-sqlite` moves the store into a throwaway PostgreSQL; `tocsin serve` with the
same config plus server.store shows the incident with its timeline and the silence, and the next
incident's id continues after the old ones. On the way, the refusals: a source still in use, no
server.store, a missing file, a target that is no longer empty — each exits non-zero, says why,
and changes nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import time

from harness import Tocsin, RULE_FOR_SECONDS, free_port, rfc3339, wait_until, write_config
from pg_server import PostgresSuite, with_store


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class MigrateTest(PostgresSuite):
    @classmethod
    def setUpClass(cls):
        cls.start_suite("tocsin-e2e-migrate-")
        cls.uri = cls.pg.create_database("tocsin")
        cls.port = free_port()
        cls.config_path = write_config(cls.tmp, cls.port, cls.receiver.url)
        cls.db = os.path.join(cls.tmp, "data", "tocsin.db")
        cls.server = Tocsin(cls.config_path, cls.port)
        cls.servers.append(cls.server)

    def migrate(self, *args: str):
        return self.server.cli("migrate", "--config", self.config_path, *args, timeout=60)

    def pg_rows(self) -> int:
        tables = self.pg.psql("tocsin", "SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'public' AND table_name <> 'schema_version'").split()
        return sum(int(self.pg.psql("tocsin", f"SELECT count(*) FROM {t}").strip()) for t in tables)

    def test_moves_an_embedded_install_onto_postgres(self):
        s = self.server
        s.start()
        # 1. On SQLite: an incident, acknowledged, and a silence.
        r = s.push([{"name": "system_load", "labels": {"service": "api", "instance": "h1"}, "value": 0.95}])
        self.assertEqual(r.status // 100, 2, f"push: {r!r}")
        self.assertTrue(wait_until(lambda: s.incidents(), RULE_FOR_SECONDS + 8), "no incident opened")
        iid = s.incidents()[0]["id"]
        self.assertEqual(s.post(f"/api/v1/incidents/{iid}/ack", {"actor": "alice"}).status, 200)
        self.assertEqual(s.post(f"/api/v1/incidents/{iid}/notes", {"actor": "bob", "text": "disk\tswap\nrack 4"}).status, 200)
        now = dt.datetime.now(dt.timezone.utc)
        r = s.post("/api/v2/silences", {"matchers": [{"name": "instance", "value": "h9", "isRegex": False}],
                                        "startsAt": rfc3339(now), "endsAt": rfc3339(now + dt.timedelta(hours=2)),
                                        "createdBy": "dave", "comment": "maintenance"})
        self.assertEqual(r.status, 200, r)
        sid = r.json["silenceID"]
        before = s.get(f"/api/v1/incidents/{iid}").json
        self.assertEqual(before["status"], "acknowledged")

        # 2. Refused without server.store (there is nowhere to copy to); then, with it, refused while
        # the SQLite server still runs: it holds the store, and would write after the copy.
        cp = self.migrate("--from-sqlite", self.db)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("no server.store", cp.stderr)
        with_store(self.config_path, self.uri)
        cp = self.migrate("--from-sqlite", self.db)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("in use by a running tocsin", cp.stderr)
        self.assertEqual(s.stop(), 0)
        source_digest = digest(self.db)

        # The schema step alone: the SQLite store is current; the new database gets every migration.
        with open(self.config_path) as f:
            with_pg = f.read()
        with open(self.config_path, "w") as f:
            f.write(with_pg.replace(f"  store: {self.uri}\n", ""))
        cp = self.migrate()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout, r"tocsin\.db: schema version \d+, current; nothing to do")
        self.assertEqual(digest(self.db), source_digest)
        with open(self.config_path, "w") as f:
            f.write(with_pg)
        cp = self.migrate()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout, r"postgres://postgres@127\.0\.0\.1:\d+/tocsin: schema version 0 -> \d+")

        # 3. Refused for a missing file.
        missing = os.path.join(self.tmp, "nowhere", "tocsin.db")
        cp = self.migrate("--from-sqlite", missing)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn(f"no SQLite store at {missing}", cp.stderr)
        self.assertFalse(os.path.exists(missing))
        self.assertEqual(self.pg_rows(), 0, "refusals copy nothing")

        # 4. The move: every table's rows counted, the source file untouched.
        started = time.monotonic()
        cp = self.migrate("--from-sqlite", self.db)
        self.assertEqual(cp.returncode, 0, f"{cp.stdout}\n{cp.stderr}")
        print(f"\ntocsin migrate --from-sqlite took {time.monotonic() - started:.2f} s:\n{cp.stdout}")
        self.assertRegex(cp.stdout, r"(?m)^  incidents\s+1 row, ids continue after 1$")
        self.assertRegex(cp.stdout, r"(?m)^  silences\s+1 row$")
        self.assertIn("row counts verified", cp.stdout)
        self.assertEqual(digest(self.db), source_digest, "the SQLite file is only read")

        # 5. Again: the target is no longer empty, so it is refused and left as it is.
        rows = self.pg_rows()
        cp = self.migrate("--from-sqlite", self.db)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertRegex(cp.stderr, r"not empty: table \w+ has rows")
        self.assertEqual(self.pg_rows(), rows)
        # The schema step alone has nothing left to do.
        cp = self.migrate()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("current; nothing to do", cp.stdout)

        # 6. tocsin on PostgreSQL: the same incident, timeline and silence.
        s.start()
        after = s.get(f"/api/v1/incidents/{iid}").json
        self.assertEqual(after["status"], "acknowledged")
        self.assertEqual(after["acknowledged_at"], before["acknowledged_at"])
        # The old events, as they were (the engine on PostgreSQL may have added some since: the
        # alert resolves when its series goes quiet).
        self.assertEqual(after["timeline"][:len(before["timeline"])], before["timeline"])
        self.assertTrue(any(e.get("detail") == "disk\tswap\nrack 4" for e in after["timeline"]), after["timeline"])
        silences = s.get("/api/v2/silences").json
        self.assertEqual([x["id"] for x in silences], [sid])
        self.assertEqual(silences[0]["comment"], "maintenance")

        # 7. A new incident gets the next id.
        r = s.post("/api/v2/alerts", [{"labels": {"alertname": "DiskFull", "service": "db",
                                                  "incident_type": "system_crash"}}])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(wait_until(lambda: len(s.incidents()) == 2, 10.0), s.incidents())
        self.assertEqual(sorted(int(i["id"]) for i in s.incidents()), [int(iid), int(iid) + 1])

        # 8. A binary older than the database's schema refuses to migrate it, naming both versions.
        current = self.pg.psql("tocsin", "SELECT version FROM schema_version").strip()
        self.pg.psql("tocsin", "UPDATE schema_version SET version = 99")
        cp = self.migrate()
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("schema version 99 is newer than this tocsin supports", cp.stderr)
        self.pg.psql("tocsin", f"UPDATE schema_version SET version = {current}")


if __name__ == "__main__":
    import unittest
    unittest.main()
