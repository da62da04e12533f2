#!/usr/bin/env python3
# Prints the inputs and expected values of tests/train/glue_metrics_test.cpp's reference tests:
# scikit-learn's accuracy_score, f1_score and matthews_corrcoef and SciPy's pearsonr and
# spearmanr written out in numpy from their documented definitions (neither library is
# installed here). Run with Debian's python3 (/usr/bin/python3, which has numpy).
import numpy as np

rng = np.random.default_rng(2024)
n = 40
lab = rng.integers(0, 2, n)
pred = np.where(rng.random(n) < 0.7, lab, 1 - lab)
lab3 = rng.integers(0, 3, n)
pred3 = np.where(rng.random(n) < 0.6, lab3, rng.integers(0, 3, n))
# STS-B-like scores on a 0..5 grid of fifths (many ties) and noisy predictions rounded to 0.1.
tgt = np.round(rng.integers(0, 26, 30) / 5.0, 1)
prd = np.round(tgt + rng.normal(0, 1.0, 30), 1)


def acc(p, l):
    return np.mean(p == l)


def f1(p, l):  # positive class 1
    tp = np.sum((p == 1) & (l == 1))
    fp = np.sum((p == 1) & (l != 1))
    fn = np.sum((p != 1) & (l == 1))
    return 2 * tp / (2 * tp + fp + fn)


def mcc(p, l):  # matthews_corrcoef from the confusion matrix C (rows: labels)
    classes = np.union1d(p, l)
    C = np.array([[np.sum((l == a) & (p == b)) for b in classes] for a in classes], dtype=np.float64)
    t, q, c, s = C.sum(1), C.sum(0), np.trace(C), C.sum()
    return (c * s - t @ q) / np.sqrt((s * s - q @ q) * (s * s - t @ t))


def rank(x):  # rankdata(method="average"): values below, plus the mean position among equals
    x = np.asarray(x)
    return np.array([np.sum(x < v) + (np.sum(x == v) + 1) / 2.0 for v in x])


def pearson(x, y):
    return np.corrcoef(x, y)[0, 1]


ints = lambda a: ", ".join(str(int(v)) for v in a)
floats = lambda a: ", ".join(repr(float(v)) for v in a)
print("labels  =", ints(lab))
print("preds   =", ints(pred))
print("labels3 =", ints(lab3))
print("preds3  =", ints(pred3))
print("targets =", floats(tgt))
print("predict =", floats(prd))
print("accuracy %.17g f1 %.17g mcc %.17g" % (acc(pred, lab), f1(pred, lab), mcc(pred, lab)))
print("accuracy3 %.17g mcc3 %.17g" % (acc(pred3, lab3), mcc(pred3, lab3)))
print("pearson %.17g spearman %.17g" % (pearson(prd, tgt), pearson(rank(prd), rank(tgt))))
