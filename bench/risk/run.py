#!/usr/bin/env python3
"""Risk-model throughput: `tocsin risk train` + `predict` against scikit-learn, same data, same run.

Generates ROWS x FEATURES (default 1,000,000 x 20, 3 classes) with numpy, writes train.csv
(with label) and test.csv (features only) in the same rows, then times
  tocsin: `tocsin risk train --model nb` and `tocsin risk predict`  — end to end, CSV parsing included
  sklearn: GaussianNB fit + predict_proba on in-memory arrays, and the same with the CSV read
           (numpy.loadtxt) included, so both sides can be compared like for like.
The tree is timed the same way at --max-depth 8 against DecisionTreeClassifier(max_depth=8).
Prints rows/s for each and the ratios. Needs python3-numpy and python3-sklearn (Debian's install
for /usr/bin/python3).

usage: bench/risk/run.py [--rows N] [--features N] [--bin build/src/cli/tocsin] [--skip-tree]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "src", "cli", "tocsin"))
    ap.add_argument("--skip-tree", action="store_true")
    args = ap.parse_args()

    rng = np.random.default_rng(7)
    n, d = args.rows, args.features
    y = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, d)) + y[:, None] * rng.normal(scale=0.5, size=d)[None, :]
    with tempfile.TemporaryDirectory(prefix="tocsin-risk-bench-") as tmp:
        train_csv, test_csv = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
        header = ",".join(f"f{i}" for i in range(d))
        t, _ = timed(lambda: np.savetxt(train_csv, np.column_stack([X, y]), delimiter=",", fmt="%.17g",
                                        header=header + ",label", comments=""))
        np.savetxt(test_csv, X, delimiter=",", fmt="%.17g", header=header, comments="")
        size_mb = os.path.getsize(train_csv) / 1e6
        print(f"data: {n} rows x {d} features, 3 classes; train.csv {size_mb:.0f} MB (written in {t:.1f} s)")

        def tocsin(*a):
            subprocess.run([args.bin, "risk", *a], check=True, stdout=subprocess.DEVNULL)

        model = os.path.join(tmp, "nb.json")
        pred = os.path.join(tmp, "pred.csv")
        t_train, _ = timed(lambda: tocsin("train", "--data", train_csv, "--label", "label", "--out", model))
        t_pred, _ = timed(lambda: tocsin("predict", "--model", model, "--data", test_csv, "--output", pred))
        t_fit, nb = timed(lambda: GaussianNB().fit(X, y))
        t_proba, _ = timed(lambda: (nb.predict(X), nb.predict_proba(X)))
        t_load, _ = timed(lambda: np.loadtxt(train_csv, delimiter=",", skiprows=1))
        print("\nGaussian naive Bayes (train + predict on the same rows)")
        print(f"  tocsin  train {t_train:7.2f} s  predict {t_pred:7.2f} s  total {t_train + t_pred:7.2f} s "
              f"({n / (t_train + t_pred):,.0f} rows/s, CSV in and out included)")
        print(f"  sklearn fit   {t_fit:7.2f} s  predict {t_proba:7.2f} s  total {t_fit + t_proba:7.2f} s "
              f"({n / (t_fit + t_proba):,.0f} rows/s, arrays in memory)")
        print(f"  sklearn + np.loadtxt of train.csv ({t_load:.2f} s) and of test.csv (~same): "
              f"{t_fit + t_proba + 2 * t_load:.2f} s")
        print(f"  ratio tocsin/sklearn time: {(t_train + t_pred) / (t_fit + t_proba):.2f}x in-memory sklearn, "
              f"{(t_train + t_pred) / (t_fit + t_proba + 2 * t_load):.2f}x sklearn with CSV reading")

        if not args.skip_tree:
            model = os.path.join(tmp, "tree.json")
            t_train, _ = timed(lambda: tocsin("train", "--data", train_csv, "--label", "label", "--model", "tree",
                                              "--max-depth", "8", "--out", model))
            t_pred, _ = timed(lambda: tocsin("predict", "--model", model, "--data", test_csv, "--output", pred))
            t_fit, tree = timed(lambda: DecisionTreeClassifier(max_depth=8, random_state=0).fit(X, y))
            t_proba, _ = timed(lambda: (tree.predict(X), tree.predict_proba(X)))
            print("\nCART tree, gini, max_depth 8")
            print(f"  tocsin  train {t_train:7.2f} s  predict {t_pred:7.2f} s  total {t_train + t_pred:7.2f} s")
            print(f"  sklearn fit   {t_fit:7.2f} s  predict {t_proba:7.2f} s  total {t_fit + t_proba:7.2f} s")
            print(f"  ratio tocsin/sklearn time: {(t_train + t_pred) / (t_fit + t_proba):.2f}x in-memory sklearn, "
                  f"{(t_train + t_pred) / (t_fit + t_proba + 2 * t_load):.2f}x sklearn with CSV reading")
    return 0


if __name__ == "__main__":
    sys.exit(main())
