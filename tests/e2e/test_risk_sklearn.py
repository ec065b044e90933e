"""`tocsin risk` through the real binary, checked against scikit-learn.

- GaussianNB agreement: on make_classification data (several seeds) and sklearn's bundled iris,
  wine and breast_cancer (and wine with given priors), `tocsin risk train --model nb` + `predict` must give the same
  predictions as sklearn's GaussianNB trained on the same split, and every probability within
  1e-9 of predict_proba.
- Decision tree: tocsin's CART and DecisionTreeClassifier (same criterion, max_depth,
  min_samples_leaf, random_state=0) must agree on held-out accuracy within 1 point — or, where
  sklearn's random tie-breaking makes its own accuracy depend on the seed (small data, deep trees),
  lie within 1 point of the range sklearn reaches over 40 seeds.
- Bad input (no sklearn needed): ragged rows, a non-numeric value, an unknown column, a label
  never seen in training — each one line on stderr naming file:line or the column, exit 1.

The sklearn tests skip when sklearn or numpy is missing. Debian's python3-sklearn installs for
/usr/bin/python3; when the interpreter running the tests is another one (pyenv), this module
re-runs itself under /usr/bin/python3 once.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import unittest

from harness import tocsin_bin

try:
    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False
    SYSTEM_PYTHON = "/usr/bin/python3"
    if (__name__ != "__main__" and not os.environ.get("TOCSIN_RISK_REEXEC") and os.path.exists(SYSTEM_PYTHON)
            and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON)):
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import sklearn, numpy"], capture_output=True)
        if probe.returncode == 0:
            sys.stdout.flush()
            os.execve(SYSTEM_PYTHON, [SYSTEM_PYTHON, "-m", "unittest", "-v", "test_risk_sklearn"],
                      {**os.environ, "TOCSIN_RISK_REEXEC": "1"})


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([tocsin_bin(), "risk", *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"tocsin risk {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def write_csv(path: str, header: list[str], rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(r)


def read_predictions(path: str) -> tuple[list[str], list[str], list[list[float]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[0] == "predicted", header
    classes = [h[2:] for h in header[1:]]
    return classes, [r[0] for r in rows[1:]], [[float(v) for v in r[1:]] for r in rows[1:]]


def datasets():
    """(name, X, y as strings) — labels as text so class names survive the CSV unchanged."""
    for seed in (1, 2, 3):
        X, y = make_classification(n_samples=900, n_features=10, n_informative=6, n_redundant=2,
                                   n_classes=3, class_sep=0.8, random_state=seed)
        yield f"make_classification_seed{seed}", X, np.array([f"c{v}" for v in y])
    X, y = make_classification(n_samples=600, n_features=20, n_informative=4, n_classes=2, random_state=42)
    yield "make_classification_binary", X, np.array([str(v) for v in y])
    for name, loader in (("iris", load_iris), ("wine", load_wine), ("breast_cancer", load_breast_cancer)):
        d = loader()
        yield name, d.data.astype(float), np.array([str(d.target_names[t]) for t in d.target])


@unittest.skipUnless(HAVE_SKLEARN, "scikit-learn and numpy are not installed (apt-get install python3-sklearn)")
class AgreesWithScikitLearn(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tocsin-risk-")
        self.addCleanup(self.dir.cleanup)

    def split(self, name, X, y):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        d = os.path.join(self.dir.name, name)
        os.makedirs(d)
        feats = [f"f{i}" for i in range(X.shape[1])]
        write_csv(os.path.join(d, "train.csv"), feats + ["label"],
                  ([repr(float(v)) for v in row] + [lab] for row, lab in zip(X_tr, y_tr)))
        write_csv(os.path.join(d, "test.csv"), feats, ([repr(float(v)) for v in row] for row in X_te))
        return d, X_tr, X_te, y_tr, y_te

    def test_gaussian_nb_same_predictions_and_probabilities(self):
        for name, X, y in datasets():
            with self.subTest(dataset=name):
                d, X_tr, X_te, y_tr, y_te = self.split(name, X, y)
                model = os.path.join(d, "nb.json")
                run("train", "--data", os.path.join(d, "train.csv"), "--label", "label", "--model", "nb", "--out", model)
                out = os.path.join(d, "pred.csv")
                run("predict", "--model", model, "--data", os.path.join(d, "test.csv"), "--output", out)
                classes, predicted, proba = read_predictions(out)
                sk = GaussianNB().fit(X_tr, y_tr)
                self.assertEqual(sorted(classes), sorted(sk.classes_.tolist()))
                sk_pred = sk.predict(X_te).tolist()
                sk_proba = sk.predict_proba(X_te)
                self.assertEqual(predicted, sk_pred)
                col = {c: i for i, c in enumerate(sk.classes_.tolist())}
                worst = 0.0
                for i, row in enumerate(proba):
                    for j, c in enumerate(classes):
                        worst = max(worst, abs(row[j] - sk_proba[i][col[c]]))
                self.assertLessEqual(worst, 1e-9, f"{name}: largest probability difference {worst:g}")

    def test_gaussian_nb_given_priors(self):
        d = load_wine()
        X, y = d.data.astype(float), np.array([str(d.target_names[t]) for t in d.target])
        dd, X_tr, X_te, y_tr, y_te = self.split("wine_priors", X, y)
        priors = {"class_0": 0.2, "class_1": 0.5, "class_2": 0.3}
        model = os.path.join(dd, "nb.json")
        run("train", "--data", os.path.join(dd, "train.csv"), "--label", "label", "--out", model,
            *[a for c, p in priors.items() for a in ("--prior", f"{c}={p}")])
        out = os.path.join(dd, "pred.csv")
        run("predict", "--model", model, "--data", os.path.join(dd, "test.csv"), "--output", out)
        classes, predicted, proba = read_predictions(out)
        sk = GaussianNB(priors=[priors[c] for c in sorted(priors)]).fit(X_tr, y_tr)
        self.assertEqual(predicted, sk.predict(X_te).tolist())
        col = {c: i for i, c in enumerate(sk.classes_.tolist())}
        sk_proba = sk.predict_proba(X_te)
        for i, row in enumerate(proba):
            for j, c in enumerate(classes):
                self.assertAlmostEqual(row[j], sk_proba[i][col[c]], delta=1e-9)

    def test_decision_tree_accuracy_within_one_point(self):
        configs = [("gini", 3, 1), ("entropy", 4, 5), ("gini", 6, 2), ("entropy", 0, 1)]
        for name, X, y in datasets():
            d, X_tr, X_te, y_tr, y_te = self.split(name, X, y)
            for criterion, depth, leaf in configs:
                with self.subTest(dataset=name, criterion=criterion, max_depth=depth, min_samples_leaf=leaf):
                    model = os.path.join(d, f"tree-{criterion}-{depth}-{leaf}.json")
                    run("train", "--data", os.path.join(d, "train.csv"), "--label", "label", "--model", "tree",
                        "--criterion", criterion, "--max-depth", str(depth), "--min-samples-leaf", str(leaf),
                        "--out", model)
                    out = os.path.join(d, "tree-pred.csv")
                    run("predict", "--model", model, "--data", os.path.join(d, "test.csv"), "--output", out)
                    _, predicted, _ = read_predictions(out)
                    ours = sum(p == t for p, t in zip(predicted, y_te)) / len(y_te)
                    sk = DecisionTreeClassifier(criterion=criterion, max_depth=depth or None,
                                                min_samples_leaf=leaf, random_state=0).fit(X_tr, y_tr)
                    theirs = float((sk.predict(X_te) == y_te).mean())
                    if abs(ours - theirs) <= 0.01 + 1e-12:
                        continue
                    # sklearn breaks ties between equally good splits by a random feature order, so
                    # on small data its own accuracy moves with random_state (wine, gini, depth 3:
                    # 0.85 to 0.96 over seeds 0-39). Beyond 1 point, tocsin's tree must still be
                    # one sklearn grows for some seed, within 1 point — and never on data big enough
                    # for ties to be rare (the make_classification sets at depth <= 4).
                    self.assertFalse(name.startswith("make_classification") and 0 < depth <= 4,
                                     f"tocsin {ours:.4f} vs sklearn {theirs:.4f}")
                    seeds = [float((DecisionTreeClassifier(criterion=criterion, max_depth=depth or None,
                                                           min_samples_leaf=leaf, random_state=s)
                                    .fit(X_tr, y_tr).predict(X_te) == y_te).mean()) for s in range(40)]
                    print(f"{name} {criterion} depth={depth} leaf={leaf}: tocsin {ours:.4f}, sklearn "
                          f"{theirs:.4f} at random_state=0, {min(seeds):.4f}-{max(seeds):.4f} over 40 seeds",
                          file=sys.stderr)
                    self.assertTrue(min(seeds) - 0.01 - 1e-12 <= ours <= max(seeds) + 0.01 + 1e-12,
                                    f"tocsin {ours:.4f} outside sklearn's {min(seeds):.4f}-{max(seeds):.4f}")


class BadInput(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tocsin-risk-bad-")
        self.addCleanup(self.dir.cleanup)
        self.good = self.file("good.csv", "bytes,proto,label\n10,tcp,low\n12,udp,low\n90,tcp,high\n95,udp,high\n")
        self.model = os.path.join(self.dir.name, "m.json")
        run("train", "--data", self.good, "--label", "label", "--out", self.model)

    def file(self, name: str, text: str) -> str:
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def fails(self, *args: str) -> str:
        p = run(*args, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        return p.stderr.strip()

    def test_ragged_row(self):
        bad = self.file("ragged.csv", "bytes,proto,label\n10,tcp,low\n12,udp\n")
        self.assertIn(f"{bad}:3: 2 fields, but the header has 3 columns",
                      self.fails("train", "--data", bad, "--label", "label", "--out", self.model + ".x"))

    def test_non_numeric_value(self):
        bad = self.file("nan.csv", "bytes,proto\n10,tcp\nlots,udp\n")
        self.assertIn(f"{bad}:3: column 'bytes': 'lots' is not a number",
                      self.fails("predict", "--model", self.model, "--data", bad))

    def test_unknown_column(self):
        self.assertIn(f"{self.good}:1: no column 'severity'",
                      self.fails("train", "--data", self.good, "--label", "severity", "--out", self.model + ".x"))
        missing = self.file("missing.csv", "proto\ntcp\n")
        self.assertIn(f"{missing}:1: no column 'bytes'", self.fails("predict", "--model", self.model, "--data", missing))

    def test_label_never_seen_in_training(self):
        bad = self.file("eval.csv", "bytes,proto,label\n10,tcp,low\n99,tcp,critical\n")
        self.assertIn(f"{bad}:3: column 'label': label 'critical' was never seen in training",
                      self.fails("eval", "--model", self.model, "--data", bad, "--label", "label"))

    def test_model_file_of_another_version(self):
        with open(self.model) as f:
            text = f.read().replace('"version": 1', '"version": 9')
        other = self.file("v9.json", text)
        self.assertIn("model version 9 is not supported",
                      self.fails("predict", "--model", other, "--data", self.good))


if __name__ == "__main__":
    unittest.main()
