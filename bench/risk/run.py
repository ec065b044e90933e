#!/usr/bin/env python3
"""Risk-model throughput against scikit-learn: the same work on the same data, in the same run.

Gaussian naive Bayes, measured like for like:
  train    tocsin NaiveBayes::fit vs sklearn GaussianNB().fit, both on the same in-memory
           ROWS x FEATURES float64 matrix (tocsin's side reads it from a raw binary file the script
           writes, before its clock starts);
  predict  tocsin predict_batch (class + probabilities) vs sklearn predict + predict_proba;
  CSV load (separately) tocsin's CSV reader + encoding vs numpy.loadtxt, on the same train.csv.
Each time is the best of --repeat runs. Results must be identical: the script checks that every
predicted class matches sklearn's and prints the largest |difference| of any probability (the
contract is 1e-9).

The CART tree is timed end to end through the CLI (`tocsin risk train/predict`, CSV included)
against DecisionTreeClassifier(max_depth=8) in memory (--skip-tree to leave it out).

Needs python3-numpy and python3-sklearn (Debian installs them for /usr/bin/python3) and the
build's bench/tocsin_nb_bench and src/cli/tocsin.

usage: bench/risk/run.py [--rows N] [--features N] [--repeat N] [--build DIR] [--skip-csv] [--skip-tree]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def best_of(repeat, fn):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--skip-csv", action="store_true")
    ap.add_argument("--skip-tree", action="store_true")
    args = ap.parse_args()
    nb_bench = os.path.join(args.build, "bench", "tocsin_nb_bench")
    tocsin = os.path.join(args.build, "src", "cli", "tocsin")

    rng = np.random.default_rng(7)
    n, d, k = args.rows, args.features, 3
    y = rng.integers(0, k, size=n).astype(np.int32)
    X = np.ascontiguousarray(rng.normal(size=(n, d)) + y[:, None] * rng.normal(scale=0.5, size=d)[None, :])
    print(f"data: {n:,} rows x {d} features, {k} classes (numpy seed 7); best of {args.repeat} runs each")
    with tempfile.TemporaryDirectory(prefix="tocsin-risk-bench-") as tmp:
        data_bin, out_bin = os.path.join(tmp, "data.bin"), os.path.join(tmp, "out.bin")
        with open(data_bin, "wb") as f:
            f.write(b"TNB1" + struct.pack("<3Q", n, d, k))
            f.write(X.astype("<f8").tobytes())
            f.write(y.astype("<i4").tobytes())
        train_csv = os.path.join(tmp, "train.csv")
        if not args.skip_csv or not args.skip_tree:
            header = ",".join(f"f{i}" for i in range(d))
            np.savetxt(train_csv, np.column_stack([X, y]), delimiter=",", fmt="%.17g", header=header + ",label",
                       comments="")

        # sklearn, in memory.
        t_fit, nb = best_of(args.repeat, lambda: GaussianNB().fit(X, y))
        t_pred, (sk_cls, sk_proba) = best_of(args.repeat, lambda: (nb.predict(X), nb.predict_proba(X)))
        # tocsin, in memory (the same doubles).
        cmd = [nb_bench, data_bin, out_bin, "--repeat", str(args.repeat)]
        if not args.skip_csv:
            cmd += ["--csv", train_csv]
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        with open(out_bin, "rb") as f:
            raw = f.read()
        our_cls = np.frombuffer(raw[:4 * n], dtype="<i4")
        our_proba = np.frombuffer(raw[4 * n:], dtype="<f8").reshape(n, k)
        mismatched = int(np.count_nonzero(our_cls != sk_cls))
        max_dp = float(np.max(np.abs(our_proba - sk_proba)))

        print("\nGaussian naive Bayes, in memory")
        print(f"  {'':8} {'train':>9} {'predict':>9}")
        print(f"  {'tocsin':8} {ours['fit_s']:8.4f}s {ours['predict_s']:8.4f}s")
        print(f"  {'sklearn':8} {t_fit:8.4f}s {t_pred:8.4f}s")
        print(f"  {'speed-up':8} {t_fit / ours['fit_s']:8.1f}x {t_pred / ours['predict_s']:8.1f}x  "
              f"(sklearn time / tocsin time)")
        print(f"  identical results: {n - mismatched:,} of {n:,} predicted classes equal; "
              f"max |p_tocsin - p_sklearn| = {max_dp:.3g}")
        if not args.skip_csv:
            t_load, _ = best_of(1, lambda: np.loadtxt(train_csv, delimiter=",", skiprows=1))
            mb = os.path.getsize(train_csv) / 1e6
            print(f"\nCSV load of train.csv ({mb:.0f} MB, %.17g): tocsin read + encode {ours['csv_load_s']:.2f} s, "
                  f"numpy.loadtxt {t_load:.2f} s ({t_load / ours['csv_load_s']:.1f}x)")

        if not args.skip_tree:
            test_csv = os.path.join(tmp, "test.csv")
            np.savetxt(test_csv, X, delimiter=",", fmt="%.17g", header=",".join(f"f{i}" for i in range(d)),
                       comments="")

            def cli(*a):
                subprocess.run([tocsin, "risk", *a], check=True, stdout=subprocess.DEVNULL)

            model, pred = os.path.join(tmp, "tree.json"), os.path.join(tmp, "pred.csv")
            t_train, _ = best_of(1, lambda: cli("train", "--data", train_csv, "--label", "label", "--model", "tree",
                                                "--max-depth", "8", "--out", model))
            t_tpred, _ = best_of(1, lambda: cli("predict", "--model", model, "--data", test_csv, "--output", pred))
            t_tfit, tree = best_of(1, lambda: DecisionTreeClassifier(max_depth=8, random_state=0).fit(X, y))
            t_tproba, _ = best_of(1, lambda: (tree.predict(X), tree.predict_proba(X)))
            print("\nCART tree, gini, max_depth 8 (tocsin through the CLI, CSV in and out included; one run)")
            print(f"  tocsin  train {t_train:7.2f} s  predict {t_tpred:7.2f} s")
            print(f"  sklearn fit   {t_tfit:7.2f} s  predict {t_tproba:7.2f} s  (in memory)")
        if mismatched or not max_dp <= 1e-9:
            print("\nRESULTS DIFFER from sklearn", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
