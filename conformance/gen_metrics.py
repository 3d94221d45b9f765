"""Conformance vectors for xrisk-metrics and `xrisk eval`, produced by the peer:
LibAUC 2.0.1 (`libauc.metrics`) and scikit-learn. Run through generate.sh.

Writes
  vectors/metrics.json   cases read by crates/xrisk-metrics/tests/conformance.rs
  eval/<name>.csv + eval/expected.json   files for the `xrisk eval` CLI test

Where LibAUC 2.0.1 crashes or returns NaN (spec libauc_spec.md §11 #20) the expected value
comes from the corrected definition and the case says so in "note".
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score, average_precision_score, ndcg_score
import libauc
from libauc.metrics import auc_roc_score, auc_prc_score, pauc_roc_score
from libauc.metrics.metrics_k import precision_and_recall_at_k, ap_at_k, map_at_k, ndcg_at_k

warnings.filterwarnings("ignore")
out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261128)


def f(x):
    """JSON-safe float (NaN -> None)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def lst(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


cases = []

# ---------------------------------------------------------------- binary threshold metrics
ONE_WAY = [0.1, 0.3, 0.5]
TWO_WAY = [(0.5, 0.5), (0.3, 0.2), (1.0, 0.01), (0.4, 0.5)]


def binary_case(name, y, s):
    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    c = {"name": name, "kind": "binary", "labels": lst(y), "scores": lst(s),
         "auroc": f(auc_roc_score(y, s)), "auprc": f(auc_prc_score(y, s)),
         "pauc_one_way": [], "pauc_two_way": []}
    for b in ONE_WAY:
        c["pauc_one_way"].append({"max_fpr": b, "value": f(pauc_roc_score(y, s, max_fpr=b))})
    for a, b in TWO_WAY:
        entry = {"max_fpr": a, "min_tpr": b}
        try:
            entry["value"] = f(pauc_roc_score(y, s, max_fpr=a, min_tpr=b))
        except Exception as e:  # LibAUC 2.0.1 crashes when the selection is the whole class
            pos, neg = s[y == 1], s[y != 1]
            npos = min(max(round(len(pos) * (1 - b)), 1), len(pos))
            nneg = min(max(round(len(neg) * a), 1), len(neg))
            sp, sn = np.sort(pos)[:npos], np.sort(neg)[::-1][:nneg]
            entry["value"] = f(roc_auc_score(np.r_[np.ones(npos), np.zeros(nneg)], np.r_[sp, sn]))
            entry["note"] = f"libauc 2.0.1 raises {type(e).__name__}; value from the corrected definition"
        c["pauc_two_way"].append(entry)
    cases.append(c)


binary_case("appendix_a", [1, 0, 1, 0, 0, 1, 0, 0], [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35])
binary_case("all_scores_tied", [1, 0, 1, 0, 0], [0.5] * 5)
y = (rng.random(200) < 0.3).astype(float)
binary_case("heavy_ties_rounded", y, np.round(rng.random(200) * 0.5 + 0.3 * y, 1))
binary_case("tiny_correct", [0, 1], [0.1, 0.9])
binary_case("tiny_reversed", [0, 1], [0.9, 0.1])
binary_case("tiny_tie", [1, 0], [0.4, 0.4])
y = np.zeros(1000); y[rng.integers(1000)] = 1
binary_case("one_positive_in_1000", y, rng.normal(size=1000) + y)
y = np.zeros(20000); y[rng.choice(20000, 5, replace=False)] = 1
binary_case("five_positives_in_20000_ties", y, np.round(rng.normal(size=20000) + 2 * y, 2))
y = np.ones(500); y[rng.integers(500)] = 0
binary_case("one_negative_in_500", y, rng.normal(size=500))
y = (rng.random(5000) < 0.1).astype(float)
binary_case("random_5000", y, rng.normal(size=5000) + 0.8 * y)
binary_case("signed_zeros", [1, 0, 1, 0, 1, 0], [0.0, -0.0, -1.5, -0.0, 2.0, -3.0])
binary_case("huge_range", [1, 0, 1, 0, 0, 1], [1e300, -1e300, 1e-300, 1e-300, 0.0, -1e-300])
y = (rng.random(300) < 0.2).astype(float)
binary_case("integer_scores", y, rng.integers(0, 4, size=300) + y)

# ---------------------------------------------------------------- multi-label (column-wise)
def multilabel_case(name, Y, S):
    Y = np.asarray(Y, dtype=np.float64); S = np.asarray(S, dtype=np.float64)
    roc_list = auc_roc_score(Y, S, reduction=None)
    prc_list = auc_prc_score(Y, S, reduction=None)
    roc_mean = auc_roc_score(Y, S)
    prc_mean = auc_prc_score(Y, S)
    # LibAUC marks an undefined column with -1 (old scikit-learn) or NaN (scikit-learn >= 1.8).
    undefined = lambda v: v is None or math.isnan(v) or v < 0
    cases.append({"name": name, "kind": "multilabel", "n_tasks": int(Y.shape[1]),
                  "labels": lst(Y), "scores": lst(S),
                  "auroc_per_task": [None if undefined(v) else float(v) for v in roc_list],
                  "auroc_mean": f(roc_mean),
                  "auprc_per_task": [None if undefined(v) else float(v) for v in prc_list],
                  "auprc_mean": f(prc_mean)})


Y = (rng.random((60, 4)) < 0.3).astype(float); S = rng.random((60, 4)) + 0.4 * Y
multilabel_case("multilabel_random_4_tasks", Y, S)
Y = (rng.random((40, 5)) < 0.3).astype(float); Y[:, 2] = 1.0; Y[:, 4] = 0.0
S = np.round(rng.random((40, 5)) + 0.3 * Y, 1)
multilabel_case("multilabel_single_class_columns_and_ties", Y, S)
Y = np.zeros((300, 3)); Y[rng.choice(300, 2, replace=False), 0] = 1; Y[:150, 1] = 1; Y[rng.integers(300), 2] = 1
multilabel_case("multilabel_extreme_imbalance", Y, rng.normal(size=(300, 3)) + Y)
Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=float)
multilabel_case("multilabel_tiny", Y, np.array([[.9, .2, .4], [.1, .8, .6], [.7, .3, .4], [.2, .1, .9]]))

# ---------------------------------------------------------------- P@k / R@k (LibAUC matrix API)
def prk_case(name, y, s, k):
    y = np.asarray(y, dtype=np.float64); s = np.asarray(s, dtype=np.float64)
    assert len(np.unique(s)) == len(s), "ties are ordered differently by NumPy; keep scores distinct"
    p, r = precision_and_recall_at_k(y, s, k)
    tp = y[np.argsort(-s)][:k].sum()
    cases.append({"name": name, "kind": "precision_recall_at_k", "labels": lst(y), "scores": lst(s), "k": k,
                  "capped_precision": f(p), "recall": f(r), "precision": float(tp / k)})


prk_case("prk_appendix_a_k3", [1, 0, 1, 0, 0, 1, 0, 0], [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35], 3)
prk_case("prk_appendix_a_k5", [1, 0, 1, 0, 0, 1, 0, 0], [0.8, 0.3, 0.6, 0.4, 0.5, 0.2, 0.7, 0.35], 5)
y = (rng.random(100) < 0.1).astype(float)
prk_case("prk_random_k10", y, rng.permutation(100) / 100.0 + 0.305 * y, 10)
prk_case("prk_k_larger_than_n", [1, 0, 1], [0.3, 0.2, 0.1], 10)

# ---------------------------------------------------------------- AP@k / MAP@k on id lists
def apk_case(name, actual, predicted, k):
    cases.append({"name": name, "kind": "ap_at_k", "actual": actual, "predicted": predicted, "k": k,
                  "value": f(ap_at_k(np.array(actual), np.array(predicted), k))})


apk_case("apk_basic", [1, 2, 3], [1, 5, 2, 7, 3], 5)
apk_case("apk_truncated", [4, 9], [1, 2, 3, 4, 9], 3)
apk_case("apk_duplicates_in_prediction", [1, 2, 3], [1, 1, 2], 3)
A = rng.integers(0, 30, size=(6, 4)); P = np.array([rng.permutation(30)[:8] for _ in range(6)])
cases.append({"name": "map_at_k_random", "kind": "map_at_k", "actual": A.tolist(), "predicted": P.tolist(), "k": 5,
              "value": f(map_at_k(A, P, 5))})

# ---------------------------------------------------------------- NDCG@k (LibAUC matrix API)
def ndcg_matrix_case(name, rel, scores, ks):
    rel = np.asarray(rel, dtype=np.float64); scores = np.asarray(scores, dtype=np.float64)
    for row in scores:
        assert len(np.unique(row)) == len(row), "keep scores distinct within a row"
    cases.append({"name": name, "kind": "ndcg_matrix", "n_pos": int(rel.shape[1]), "n_candidates": int(scores.shape[1]),
                  "relevance": lst(rel), "scores": lst(scores),
                  "values": [{"k": k, "value": f(ndcg_at_k(rel, scores, k))} for k in ks]})


ndcg_matrix_case("ndcg_matrix_appendix_a", [[3, 1], [2, 0]], [[0.2, 0.9, 0.5, 0.1], [0.8, 0.7, 0.9, 0.3]], [1, 2, 3, 4])
ndcg_matrix_case("ndcg_matrix_random_graded", rng.integers(1, 5, size=(20, 5)), rng.random((20, 50)), [1, 5, 10, 20])
ndcg_matrix_case("ndcg_matrix_binary", np.ones((15, 3)), rng.random((15, 30)), [1, 3, 10])
ndcg_matrix_case("ndcg_matrix_k_beyond_candidates", [[1, 2, 0]], [[0.1, 0.5, 0.9, 0.3]], [2, 10])

# ---------------------------------------------------------------- per-query NDCG (scikit-learn)
def ndcg_query_reference(q, rel, s, ks):
    out = []
    for k in ks:
        vals = []
        for qid in np.unique(q):
            m = q == qid
            if rel[m].max() <= 0:
                continue  # no relevant item: left out of the mean
            if m.sum() == 1:
                vals.append(1.0)
            else:
                vals.append(ndcg_score([2.0 ** rel[m] - 1.0], [s[m]], k=k))
        out.append(float(np.mean(vals)))
    return out


def ndcg_query_case(name, q, rel, s, ks):
    q = np.asarray(q); rel = np.asarray(rel, dtype=np.float64); s = np.asarray(s, dtype=np.float64)
    cases.append({"name": name, "kind": "ndcg_query", "queries": [int(v) for v in q], "labels": lst(rel), "scores": lst(s),
                  "ks": ks, "values": ndcg_query_reference(q, rel, s, ks)})


q = np.repeat(np.arange(10), 12); rel = rng.integers(0, 5, size=120).astype(float)
ndcg_query_case("ndcg_query_graded", q, rel, rng.random(120) + 0.1 * rel, [1, 3, 5, 10, 20])
q = rng.integers(0, 8, size=90); rel = (rng.random(90) < 0.2).astype(float)
rel[q == 3] = 0.0
ndcg_query_case("ndcg_query_binary_interleaved_with_empty_query", q, rel, np.round(rng.random(90), 1), [1, 5, 10])
q = np.repeat(np.arange(5), 6); rel = rng.integers(0, 3, size=30).astype(float)
ndcg_query_case("ndcg_query_all_tied_scores", q, rel, np.full(30, 0.5), [1, 2, 6])
ndcg_query_case("ndcg_query_single_doc_queries", [0, 1, 1, 2], [1, 0, 2, 0], [0.3, 0.2, 0.1, 0.9], [1, 2])

meta = {"generator": "conformance/gen_metrics.py", "libauc": libauc.__version__ if hasattr(libauc, "__version__") else "2.0.1",
        "sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}
os.makedirs(os.path.join(out_dir, "vectors"), exist_ok=True)
with open(os.path.join(out_dir, "vectors", "metrics.json"), "w") as fh:
    json.dump(meta, fh, indent=1)
print(f"wrote {len(cases)} metric cases", file=sys.stderr)

# ---------------------------------------------------------------- files for `xrisk eval`
eval_dir = os.path.join(out_dir, "eval")
os.makedirs(eval_dir, exist_ok=True)
expected = {}


def write_eval(name, label, score, query=None, max_fpr=None, min_tpr=None, ks=None, binary_from_graded=False):
    path = os.path.join(eval_dir, name + ".csv")
    cols = ["label", "score"] + (["query"] if query is not None else [])
    order = rng.permutation(len(cols))  # column order must not matter
    header = [cols[i] for i in order]
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\n")
        for i in range(len(label)):
            row = {"label": f"{label[i]:g}", "score": repr(float(score[i])), "query": None if query is None else f"q{query[i]}"}
            fh.write(",".join(row[c] for c in header) + "\n")
    yb = (np.asarray(label) > 0).astype(float) if binary_from_graded else np.asarray(label, dtype=float)
    e = {"n": int(len(label)), "positives": int((yb == 1).sum()),
         "auroc": float(roc_auc_score(yb, score)), "auprc": float(average_precision_score(yb, score))}
    args = []
    if max_fpr is not None:
        args += ["--max-fpr", str(max_fpr)]
        if min_tpr is not None:
            args += ["--min-tpr", str(min_tpr)]
            e["pauc"] = float(pauc_roc_score(yb, np.asarray(score), max_fpr=max_fpr, min_tpr=min_tpr))
        else:
            e["pauc"] = float(roc_auc_score(yb, score, max_fpr=max_fpr))
    if query is not None:
        ks = ks or [5, 10, 20]
        args += ["--k", ",".join(map(str, ks))]
        vals = ndcg_query_reference(np.asarray(query), np.asarray(label, dtype=float), np.asarray(score, dtype=float), ks)
        for k, v in zip(ks, vals):
            e[f"ndcg@{k}"] = v
    expected[name] = {"args": args, "expected": e}


n = 3000; y = (rng.random(n) < 0.05).astype(int)
write_eval("imbalanced_3000", y, rng.normal(size=n) + 1.2 * y, max_fpr=0.3)
n = 800; y = (rng.random(n) < 0.4).astype(int)
write_eval("ties_two_way", y, np.round(rng.random(n) + 0.3 * y, 2), max_fpr=0.5, min_tpr=0.3)
q = rng.integers(0, 40, size=2000); rel = rng.integers(0, 5, size=2000) * (rng.random(2000) < 0.4)
write_eval("letor_graded", rel, rng.normal(size=2000) + 0.4 * rel, query=q, ks=[1, 5, 10], binary_from_graded=True)
n = 500; y = (rng.random(n) < 0.5).astype(int)
write_eval("plain_balanced", y, rng.random(n) + 0.2 * y)
with open(os.path.join(eval_dir, "expected.json"), "w") as fh:
    json.dump(expected, fh, indent=1)
print(f"wrote {len(expected)} eval files", file=sys.stderr)
