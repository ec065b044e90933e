"""`tocsin bayes query` and `tocsin bayes learn` through the real binary: the shipped example
network, JSON output, bad input as one clear line and exit 1, and learning CPTs from a CSV.

Run: TOCSIN_BIN=/path/to/tocsin python3 -m unittest -v test_bayes
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import unittest

from harness import tocsin_bin

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "bayes", "system_crash.yaml")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tocsin_bin(), "bayes", *args], capture_output=True, text=True, timeout=30)


class BayesTest(unittest.TestCase):

    def test_query_example_json(self):
        p = run("query", "--net", EXAMPLE, "--query", "system_crash",
                "--evidence", "attack_strength=high,leak_degree=none", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["query"], "system_crash")
        self.assertEqual(out["evidence"], {"attack_strength": "high", "leak_degree": "none"})
        post = out["posterior"]
        self.assertEqual(list(post), ["yes", "no"])
        self.assertAlmostEqual(post["yes"] + post["no"], 1.0, places=12)
        self.assertEqual(out["map"], "yes" if post["yes"] > post["no"] else "no")
        # By hand: enumerate the joint of the five nodes.
        self.assertAlmostEqual(post["yes"], self.brute_force(), places=12)

    def brute_force(self) -> float:
        pa, pl = {"yes": 0.05, "no": 0.95}, {"yes": 0.02, "no": 0.98}
        crash = {("yes", "yes"): 0.9, ("yes", "no"): 0.6, ("no", "yes"): 0.3, ("no", "no"): 0.01}
        strength_high = {"yes": 0.40, "no": 0.03}
        leak_none = {"yes": 0.10, "no": 0.90}
        num = den = 0.0
        for a in ("yes", "no"):
            for l in ("yes", "no"):
                w = pa[a] * pl[l] * strength_high[a] * leak_none[l]
                num += w * crash[(a, l)]
                den += w
        return num / den

    def test_query_table(self):
        # A high reading alone leaves "no attack" more likely (0.41 vs 0.59); with a crash too,
        # the attack explains both (0.96).
        p = run("query", "--net", EXAMPLE, "--query", "network_attack", "--evidence", "attack_strength=high")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("P(network_attack | attack_strength=high)", p.stdout)
        self.assertIn("MAP state: no (p = 0.587629)", p.stdout)
        p = run("query", "--net", EXAMPLE, "--query", "network_attack",
                "--evidence", "attack_strength=high", "--evidence", "system_crash=yes")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("MAP state: yes (p = 0.964177)", p.stdout)

    def test_bad_input_is_one_line(self):
        for args, needle in [
            (("--query", "nope"), 'unknown node "nope"'),
            (("--query", "system_crash", "--evidence", "attack_strength=extreme"),
             'node "attack_strength" has no state "extreme"; its states are: low, medium, high'),
        ]:
            p = run("query", "--net", EXAMPLE, *args)
            self.assertEqual(p.returncode, 1)
            self.assertIn(needle, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "bad.yaml")
            with open(bad, "w") as f:
                f.write("nodes:\n  - {name: a, states: [t, f], cpt: [0.5, 0.6]}\n")
            p = run("query", "--net", bad, "--query", "a")
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr.strip(),
                             f'error: {bad}:2: node "a": cpt row "" sums to 1.1, expected 1 (±1e-09)')

    def test_joint_map_and_mpe(self):
        ev = "attack_strength=high,system_crash=yes"
        # The MAP of one node is its posterior's MAP state.
        q = json.loads(run("query", "--net", EXAMPLE, "--query", "network_attack", "--evidence", ev, "--json").stdout)
        p = run("query", "--net", EXAMPLE, "--map", "network_attack", "--evidence", ev, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = json.loads(p.stdout)
        self.assertEqual(m["map"], {"network_attack": q["map"]})
        self.assertAlmostEqual(m["probability"], q["posterior"][q["map"]], places=12)
        self.assertAlmostEqual(m["evidence_probability"], q["evidence_probability"], places=15)
        # Joint over two causes, then the full explanation: each adds nodes, so the probability
        # of the best assignment can only fall; the MPE names every node but the evidence.
        two = json.loads(run("query", "--net", EXAMPLE, "--map", "network_attack,data_leak", "--evidence", ev,
                             "--json").stdout)
        self.assertEqual(list(two["map"]), ["network_attack", "data_leak"])
        self.assertLessEqual(two["probability"], m["probability"] + 1e-15)
        mpe = json.loads(run("query", "--net", EXAMPLE, "--mpe", "--evidence", ev, "--json").stdout)
        self.assertEqual(sorted(mpe["map"]), ["data_leak", "leak_degree", "network_attack"])
        self.assertLessEqual(mpe["probability"], two["probability"] + 1e-15)
        self.assertAlmostEqual(mpe["joint_probability"], mpe["probability"] * mpe["evidence_probability"], places=15)
        text = run("query", "--net", EXAMPLE, "--map", "network_attack,data_leak", "--evidence", ev).stdout
        self.assertIn("MAP of network_attack, data_leak | attack_strength=high, system_crash=yes", text)
        # Bad input: one line, exit 1.
        for args, message in [
            (["--map", "network_atack"], 'error: --map: unknown node "network_atack"'),
            (["--map", "system_crash", "--evidence", "system_crash=yes"],
             'error: --map: MAP node "system_crash" is also evidence'),
            (["--mpe", "--query", "system_crash"], "error: give exactly one of --query NODE, --map NODE,… and --mpe"),
        ]:
            p = run("query", "--net", EXAMPLE, *args)
            self.assertEqual(p.returncode, 1, args)
            self.assertTrue(p.stderr.startswith(message), p.stderr)
            self.assertEqual(p.stderr.count("\n"), 1, p.stderr)

    def test_learn(self):
        with tempfile.TemporaryDirectory() as tmp:
            structure = os.path.join(tmp, "s.yaml")
            data = os.path.join(tmp, "d.csv")
            out = os.path.join(tmp, "net.yaml")
            with open(structure, "w") as f:
                f.write("nodes:\n  - {name: a, states: [t, f]}\n  - {name: b, states: [t, f], parents: [a]}\n")
            with open(data, "w") as f:
                f.write("a,b\nt,t\nt,t\nt,f\nf,f\n")
            p = run("learn", "--net", structure, "--data", data, "--out", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            # P(a=t) = (3+1)/(4+2); P(b=t | a=t) = (2+1)/(3+2)
            q = run("query", "--net", out, "--query", "b", "--evidence", "a=t", "--json")
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertAlmostEqual(json.loads(q.stdout)["posterior"]["t"], 0.6, places=12)
            q = run("query", "--net", out, "--query", "a", "--json")
            self.assertAlmostEqual(json.loads(q.stdout)["posterior"]["t"], 4 / 6, places=12)

    def test_learn_with_missing_values(self):
        with tempfile.TemporaryDirectory() as tmp:
            structure = os.path.join(tmp, "s.yaml")
            data = os.path.join(tmp, "d.csv")
            out = os.path.join(tmp, "net.yaml")
            with open(structure, "w") as f:
                f.write("nodes:\n  - {name: a, states: [t, f]}\n  - {name: b, states: [t, f], parents: [a]}\n")
            # Line 5: b missing (a counts, b does not); line 6: a missing (neither counts).
            with open(data, "w") as f:
                f.write("a,b\nt,t\nt,t\nt,f\nf,?\nNA,t\nf,f\n")
            p = run("learn", "--net", structure, "--data", data, "--out", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("learnt 2 CPTs from 6 rows (2 with missing values)", p.stderr)
            self.assertIn("rows used per CPT (node and parents observed): a 5, b 4", p.stderr)
            # P(a=t) = (3+1)/(5+2); P(b=t | a=t) = (2+1)/(3+2); P(b=t | a=f) = (0+1)/(1+2)
            q = run("query", "--net", out, "--query", "a", "--json")
            self.assertAlmostEqual(json.loads(q.stdout)["posterior"]["t"], 4 / 7, places=12)
            q = run("query", "--net", out, "--query", "b", "--evidence", "a=f", "--json")
            self.assertAlmostEqual(json.loads(q.stdout)["posterior"]["t"], 1 / 3, places=12)
            # A state the network does not have is an error naming its line and column.
            with open(data, "a") as f:
                f.write("t,maybe\n")
            p = run("learn", "--net", structure, "--data", data, "--out", out)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr.strip(), f'error: {data}:8: column "b": "maybe" is not a state of node "b"; '
                                               'its states are: t, f')


if __name__ == "__main__":
    unittest.main()
