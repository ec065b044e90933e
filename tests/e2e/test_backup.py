"""Backups (issue 9, docs/operations.md#backups): `tocsin backup` copies a running server's store,
ack key and detector snapshots into a new directory; restoring that directory as the data_dir
brings back exactly what was committed when the backup was taken.
"""

from __future__ import annotations

import json
import os
import shutil
import unittest

from harness import ServerTestCase


class BackupAndRestore(ServerTestCase):
    def note(self, iid, text: str):
        r = self.server.post(f"/api/v1/incidents/{iid}/notes", {"text": text, "actor": "alice"})
        self.assertEqual(r.status, 200, r)

    def notes(self, iid) -> list[str]:
        r = self.server.get(f"/api/v1/incidents/{iid}")
        self.assertEqual(r.status, 200, r)
        return [e.get("detail", "") for e in r.json["timeline"] if e.get("kind") == "note"]

    def test_backup_while_running_then_restore(self):
        s = self.server
        incident, _ = self.open_incident("backup-1")
        iid = incident["id"]
        self.note(iid, "before the backup")
        data_dir = os.path.join(self.tmp, "data")
        out = os.path.join(self.tmp, "backup")

        done = s.cli("backup", "--config", self.config_path, "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("schema version", done.stdout)
        manifest = json.load(open(os.path.join(out, "backup.json")))
        names = [f["name"] for f in manifest["files"]]
        self.assertIn("tocsin.db", names)
        self.assertIn("ack.key", names, "links already sent must stay valid after a restore")
        self.assertGreater(manifest["schema_version"], 0)
        with open(os.path.join(data_dir, "ack.key")) as a, open(os.path.join(out, "ack.key")) as b:
            self.assertEqual(a.read(), b.read())

        self.note(iid, "after the backup")
        self.assertEqual(s.cli("backup", "--config", self.config_path, "--out", out).returncode, 1,
                         "a second backup into the same directory must refuse")

        # Restore: stop, put the backup in place of the data dir, start.
        self.assertEqual(s.stop(), 0)
        shutil.move(data_dir, data_dir + ".old")
        shutil.copytree(out, data_dir)
        s.start()
        self.assertEqual([i["id"] for i in s.incidents()], [iid])
        notes = self.notes(iid)
        self.assertIn("before the backup", notes)
        self.assertNotIn("after the backup", notes, "the backup is of the moment it was taken")

    def test_refusals_change_nothing(self):
        s = self.server
        # Into a directory that holds something: refused, the file untouched.
        busy = os.path.join(self.tmp, "busy")
        os.makedirs(busy)
        with open(os.path.join(busy, "keep.txt"), "w") as f:
            f.write("mine")
        r = s.cli("backup", "--config", self.config_path, "--out", busy)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not an empty directory", r.stderr)
        self.assertEqual(os.listdir(busy), ["keep.txt"])

        # A config whose data_dir has never been used: refused, nothing created.
        other = os.path.join(self.tmp, "other")
        shutil.copytree(os.path.join(self.tmp, "plans"), os.path.join(other, "plans"))
        cfg = os.path.join(other, "tocsin.yaml")
        with open(self.config_path) as f:
            text = f.read().replace(os.path.join(self.tmp, "data"), os.path.join(other, "data"))
        with open(cfg, "w") as f:
            f.write(text)
        fresh_out = os.path.join(self.tmp, "fresh-out")
        r = s.cli("backup", "--config", cfg, "--out", fresh_out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no store at", r.stderr)
        self.assertFalse(os.path.exists(fresh_out))
        self.assertFalse(os.path.exists(os.path.join(other, "data", "tocsin.db")))


if __name__ == "__main__":
    unittest.main()
