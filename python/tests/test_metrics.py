"""``xrisk.metrics`` against the committed scikit-learn / LibAUC 2.0.1 vectors
(``conformance/vectors/metrics.json``) at 1e-9, and the bad inputs a user meets."""
import numpy as np
import pytest
import torch

from conftest import load
import xrisk.metrics as M

TOL = 1e-9


def close(got, want, what):
    assert abs(got - want) <= TOL * max(1.0, abs(want)), f"{what}: got {got!r}, want {want!r}"


def test_metrics_match_sklearn_and_libauc():
    doc = load("metrics.json")
    seen = set()
    for case in doc["cases"]:
        kind, name = case["kind"], case["name"]
        seen.add(kind)
        if kind == "binary":
            y, s = np.array(case["labels"]), np.array(case["scores"])
            close(M.auc_roc_score(y, s), case["auroc"], f"{name} auroc")
            close(M.auc_prc_score(y, s), case["auprc"], f"{name} auprc")
            for p in case["pauc_one_way"]:
                close(M.pauc_roc_score(y, s, max_fpr=p["max_fpr"]), p["value"], f"{name} pauc {p}")
            for p in case["pauc_two_way"]:
                close(M.pauc_roc_score(y, s, max_fpr=p["max_fpr"], min_tpr=p["min_tpr"]), p["value"], f"{name} {p}")
        elif kind == "multilabel":
            t = case["n_tasks"]
            y, s = np.array(case["labels"]).reshape(-1, t), np.array(case["scores"]).reshape(-1, t)
            per = M.auc_roc_score(y, s, reduction=None)
            for got, want in zip(per, case["auroc_per_task"]):
                close(got, -1.0 if want is None else want, f"{name} auroc per task")
            close(M.auc_roc_score(y, s), case["auroc_mean"], f"{name} auroc mean")
            for got, want in zip(M.auc_prc_score(y, s, reduction=None), case["auprc_per_task"]):
                close(got, want, f"{name} auprc per task")
            close(M.auc_prc_score(y, s), case["auprc_mean"], f"{name} auprc mean")
        elif kind == "precision_recall_at_k":
            y, s = np.array(case["labels"]), np.array(case["scores"])
            p, r = M.precision_and_recall_at_k(y, s, case["k"])
            close(p, case["precision"], f"{name} precision")
            close(r, case["recall"], f"{name} recall")
            close(M.precision_at_k(y, s, case["k"], capped=True), case["capped_precision"], f"{name} capped")
        elif kind == "ap_at_k":
            close(M.ap_at_k(case["actual"], case["predicted"], case["k"]), case["value"], name)
        elif kind == "map_at_k":
            close(M.map_at_k(case["actual"], case["predicted"], case["k"]), case["value"], name)
        elif kind == "ndcg_matrix":
            rel = np.array(case["relevance"]).reshape(-1, case["n_pos"])
            s = np.array(case["scores"]).reshape(-1, case["n_candidates"])
            for v in case["values"]:
                close(M.ndcg_at_k(rel, s, v["k"]), v["value"], f"{name} k={v['k']}")
    assert {"binary", "multilabel", "precision_recall_at_k", "ap_at_k", "map_at_k", "ndcg_matrix"} <= seen


def test_metrics_take_tensors_and_lists():
    y = torch.tensor([1, 0, 1, 0, 0])
    s = torch.tensor([0.9, 0.8, 0.7, 0.3, 0.1])
    assert abs(M.auc_roc_score(y, s) - 5 / 6) < 1e-12
    assert abs(M.auc_roc_score(y.tolist(), s.tolist()) - 5 / 6) < 1e-12
    fpr, tpr, thr = M.roc_curve(y, s)
    assert fpr[0] == 0 and tpr[-1] == 1 and np.isinf(thr[0])


@pytest.mark.parametrize("y, s, err", [
    ([1, 1, 1], [0.1, 0.2, 0.3], ValueError),       # one class
    ([1, 0, 1], [0.1, float("nan"), 0.3], ValueError),  # NaN score
    ([1, 0], [0.1, 0.2, 0.3], ValueError),          # lengths
    ([1, 0, 2], [0.1, 0.2, 0.3], ValueError),       # not 0/1
    (["a", "b"], [0.1, 0.2], TypeError),            # not numbers
])
def test_bad_metric_input_is_a_clear_error(y, s, err):
    with pytest.raises(err):
        M.auc_roc_score(y, s)
