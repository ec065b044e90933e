"""A throwaway PostgreSQL server for end-to-end tests (and, later, the high-availability tests):
initdb into a temporary directory, `postgres` as a child process on a free 127.0.0.1 port with
trust authentication for the `postgres` user, and stop + remove everything at the end. The child
gets SIGQUIT (immediate shutdown) from the kernel if the test process dies, so a killed test
leaves no server behind.

PostgreSQL refuses to run as root, so under root (CI) initdb (runuser) and the server run as the
`postgres` system user, and the directory is handed to it. The server binaries come from
$TOCSIN_PG_BINDIR or the newest /usr/lib/postgresql/*/bin (Debian's postgresql package, which
scripts/setup installs); without them start() raises, saying what to install — the tests fail,
they do not skip.
"""
from __future__ import annotations

import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import LogsOnFailure, WebhookReceiver, free_port


class PostgresMissing(AssertionError):
    pass


def pg_bindir() -> str:
    env = os.environ.get("TOCSIN_PG_BINDIR")
    if env:
        return env
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.path.exists(os.path.join(d, "postgres"))]
    if not dirs:
        raise PostgresMissing("PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin: "
                              "install the postgresql package (scripts/setup does), or set TOCSIN_PG_BINDIR")
    return max(dirs, key=lambda d: int(d.split("/")[-2]))


class PostgresServer:
    """One server; start() then uri(db) / create_database(db); stop() (restartable) and close()."""

    def __init__(self, fsync: bool = False):
        self.bindir = pg_bindir()
        self.fsync = fsync  # off for tests (their data is thrown away); on for benchmarks of commits
        self.dir = tempfile.mkdtemp(prefix="tocsin-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.as_user: list[str] = []
        self.user: str | None = None
        self.proc: subprocess.Popen | None = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresMissing("running as root and there is no `postgres` user to run PostgreSQL as: "
                                      "install the postgresql package") from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
            self.user = "postgres"
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", "--no-instructions")

    def _run(self, tool: str, *args: str) -> str:
        cp = subprocess.run([*self.as_user, os.path.join(self.bindir, tool), *args],
                            capture_output=True, text=True, timeout=120)
        if cp.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)}: exit {cp.returncode}\n{cp.stdout}\n{cp.stderr}\n"
                                 f"--- postgres log ---\n{self.log_tail()}")
        return cp.stdout

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()[-max_chars:]
        except OSError:
            return "(no log)"

    @staticmethod
    def _die_with_parent() -> None:
        # Runs in the child after the uid change (which would clear it): PR_SET_PDEATHSIG = 1.
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGQUIT)

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "postgres"), "-D", self.data, "-p", str(self.port), "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1", "-c", f"fsync={'on' if self.fsync else 'off'}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, user=self.user, group=self.user,
            extra_groups=[] if self.user else None, preexec_fn=self._die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"postgres exited with {self.proc.returncode} at start:\n{self.log_tail()}")
            ready = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1",
                                    "-p", str(self.port)], timeout=10)
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        self.close()
        raise AssertionError(f"postgres did not accept connections within {timeout}s:\n{self.log_tail()}")

    def _signal(self, sig: int) -> None:
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if proc.poll() is None:
                proc.send_signal(sig)
            proc.wait(60)

    def stop(self) -> None:
        """Fast shutdown (connections are cut); start() brings it back on the same port."""
        self._signal(signal.SIGINT)

    def close(self) -> None:
        try:
            self._signal(signal.SIGQUIT)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def uri(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, db: str, sql: str) -> str:
        """Runs SQL; returns psql's unaligned, tuples-only output."""
        return self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                         "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql)

    def create_database(self, db: str) -> str:
        self.psql("postgres", f"CREATE DATABASE {db}")
        return self.uri(db)


def with_store(config_path: str, uri: str) -> None:
    """Adds `store: uri` to the config's server section."""
    with open(config_path) as f:
        text = f.read()
    text = re.sub(r"(?m)^(  data_dir: .*)$", lambda m: f"{m.group(1)}\n  store: {uri}", text, count=1)
    with open(config_path, "w") as f:
        f.write(text)


class PostgresSuite(LogsOnFailure):
    """A test class whose tests share one throwaway PostgreSQL (cls.pg), a temporary directory
    (cls.tmp) and a webhook receiver (cls.receiver): start_suite() in setUpClass; the tocsin
    servers put in cls.servers are stopped at the end, then the rest is removed."""

    @classmethod
    def start_suite(cls, prefix: str) -> None:
        cls.tmp = tempfile.mkdtemp(prefix=prefix)
        cls.servers = []
        cls.pg = PostgresServer()
        cls.pg.start()
        cls.receiver = WebhookReceiver()

    @classmethod
    def tearDownClass(cls):
        try:
            for server in getattr(cls, "servers", []):
                if server.alive():
                    server.stop()
        finally:
            if getattr(cls, "receiver", None):
                cls.receiver.close()
            if getattr(cls, "pg", None):
                cls.pg.close()
            shutil.rmtree(cls.tmp, ignore_errors=True)


class ReplicasTest(LogsOnFailure):
    """Tests that each run replicas of `tocsin serve` on a database of their own, in one throwaway
    PostgreSQL the class shares. setUp makes self.tmp, self.uri (a new database) and self.receiver;
    the replicas a test puts in self.replicas (name -> Tocsin) are stopped after it, and their logs
    and what the receiver got are printed when it fails; then self.tmp goes."""

    db_prefix = "db"  # the databases are <db_prefix>1, <db_prefix>2, …

    @classmethod
    def setUpClass(cls):
        cls.pg = PostgresServer()
        cls.pg.start()
        cls.databases = 0

    @classmethod
    def tearDownClass(cls):
        cls.pg.close()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"tocsin-e2e-{self.db_prefix}-")
        type(self).databases += 1
        self.uri = self.pg.create_database(f"{self.db_prefix}{type(self).databases}")
        self.receiver = WebhookReceiver()
        self.replicas = {}

    def tearDown(self):
        try:
            for s in self.replicas.values():
                if s.alive():
                    s.stop()
        finally:
            self.receiver.close()

    # A failure prints every replica's log (LogsOnFailure, after tearDown); then the files go.
    log_chars = 6000

    def servers_to_show(self):
        return list(getattr(self, "replicas", {}).items())

    def run(self, result=None):
        out = super().run(result)
        if getattr(self, "tmp", None):
            shutil.rmtree(self.tmp, ignore_errors=True)
        return out
