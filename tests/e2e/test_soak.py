"""The soak run (bench/soak/run) in short: 75 s of real time covering about six simulated hours of
mixed load from seven client threads against the real binary — retention expiry, escalations,
group flushes and repeats, resolve timeouts, silence expiry several times over — with file
descriptors and threads back where they were after the warm-up, RSS growth under its bound, no
unexpected HTTP answer and a clean exit. Under a sanitizer build (TOCSIN_SANITIZER set by
tests/CMakeLists.txt) RSS is reported but not checked: shadow memory and ASan's quarantine grow by
design. Also: the checks themselves fail on a leak, and bad arguments are refused."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import unittest

from harness import tocsin_bin

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK = os.path.normpath(os.path.join(HERE, "..", "..", "bench", "soak", "run"))
MIB = 1024 * 1024


def load_soak_module():
    loader = importlib.machinery.SourceFileLoader("soak_run", SOAK)
    spec = importlib.util.spec_from_loader("soak_run", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_soak(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SOAK, "--bin", tocsin_bin(), *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class ShortSoak(unittest.TestCase):
    def test_short_soak_passes(self):
        # Six simulated hours: past server.retention (1h) and the 30-minute resolved-alert expiry,
        # not past the 120 h retention of expired silences (their growth, ~150 silences here, is
        # far under the bound).
        args = ["--duration", "75s", "--speed", "300", "--warmup", "25s", "--sample-every", "2"]
        if os.environ.get("TOCSIN_SANITIZER"):
            args.append("--no-rss-check")
        r = run_soak(*args)
        sys.stderr.write(r.stdout[-6000:])
        self.assertEqual(r.returncode, 0, f"bench/soak/run {' '.join(args)}:\n{r.stdout[-8000:]}\n{r.stderr[-4000:]}")
        self.assertIn("soak: PASS", r.stdout)
        # The load reached every kind of request it is meant to make.
        for route in ("POST /api/v1/push", "POST /api/v1/write", "POST /api/v2/alerts", "POST /api/v2/silences",
                      "DELETE /api/v2/silence/{id}", "POST /api/v1/incidents/{id}/ack",
                      "POST /api/v1/incidents/{id}/notes", "POST /api/v1/incidents/{id}/resolve",
                      "GET /api/v1/rules/{name}/chart.svg", "GET /metrics", "POST /api/v1/clock/advance"):
            self.assertRegex(r.stdout, rf"\n +[1-9]\d*  {route.replace('{', '[{]').replace('}', '[}]')}\n",
                             f"no {route} in the soak's request counts:\n{r.stdout[-6000:]}")


class SoakChecks(unittest.TestCase):
    """analyse() on made-up samples: it must catch what the soak is for."""

    @classmethod
    def setUpClass(cls):
        cls.soak = load_soak_module()

    def samples(self, rss_per_hour_mib: float, fds_end: int = 20, threads_end: int = 6) -> list[dict]:
        out = []
        for i in range(40):
            sim_h = i * 0.25
            out.append({"t": i * 2.0, "sim_h": sim_h, "rss": int((30 + rss_per_hour_mib * sim_h) * MIB),
                        "fds": 20, "threads": 6, "disk": 4 * MIB, "sample_log": MIB, "phase": "load"})
        out[10]["phase"] = "baseline"
        out[-1].update(phase="final", fds=fds_end, threads=threads_end)
        return out

    def check(self, samples: list[dict], **kw) -> list[str]:
        baseline = next(s for s in samples if s["phase"] == "baseline")
        args = dict(fd_slack=3, rss_bound_mib=None, check_rss=True, total_requests=10000)
        args.update(kw)
        _, failures = self.soak.analyse(samples, baseline, samples[-1], **args)
        return failures

    def test_flat_run_passes(self):
        self.assertEqual(self.check(self.samples(0.0)), [])

    def test_growing_rss_fails(self):
        # 3 MiB per simulated hour over the 7.25 checked hours: ~22 MiB, over the 16 MiB floor.
        failures = self.check(self.samples(3.0))
        self.assertEqual(len(failures), 1, failures)
        self.assertIn("RSS grew", failures[0])
        self.assertEqual(self.check(self.samples(3.0), check_rss=False), [])

    def test_noise_does_not_fake_a_trend(self):
        samples = self.samples(0.0)
        samples[25]["rss"] += 200 * MIB  # one spike, gone at the next sample
        self.assertEqual(self.check(samples), [])

    def test_leaked_fds_and_threads_fail(self):
        failures = self.check(self.samples(0.0, fds_end=24, threads_end=10))
        self.assertEqual(len(failures), 2, failures)
        self.assertIn("fds: 24 at the end against 20", failures[0])
        self.assertIn("threads: 10 at the end against 6", failures[1])
        self.assertEqual(self.check(self.samples(0.0, fds_end=23)), [])


class SoakArguments(unittest.TestCase):
    def test_bad_arguments_are_refused(self):
        for args, expected in [
            (["--duration", "10s", "--speed", "60"], "warm-up"),
            (["--duration", "ten"], "expected a duration such as 90s"),
            (["--speed", "0"], "--speed must be > 0"),
        ]:
            r = run_soak(*args, timeout=30)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout}{r.stderr}")
            self.assertIn(expected, r.stderr, f"{args}: {r.stderr}")

    def test_missing_binary(self):
        r = subprocess.run([sys.executable, SOAK, "--bin", "/nonexistent/tocsin", "--duration", "60s",
                            "--speed", "300", "--warmup", "20s"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("tocsin binary not found at /nonexistent/tocsin", r.stderr)


if __name__ == "__main__":
    unittest.main()
