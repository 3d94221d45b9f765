"""AUROC, AUPRC and partial AUROC (LibAUC ``libauc.metrics.metrics``), exact as scikit-learn,
computed by ``xrisk-metrics`` (one sort per class, the GIL released)."""
import numpy as np

from .. import _native
from ._arrays import as_f64, matrix

__all__ = ["auc_roc_score", "auc_prc_score", "pauc_roc_score", "evaluator", "roc_curve", "precision_recall_curve"]


def _per_task(fn, y_true, y_pred, reduction):
    if reduction not in ("mean", None, "None"):
        raise ValueError(f"reduction = {reduction!r}: use 'mean' or None")
    y, s, tasks = matrix(y_true, y_pred)
    if tasks == 1:
        return None
    per = fn(y.reshape(-1), s.reshape(-1), tasks)
    per = [(-1.0 if np.isnan(v) else float(v)) for v in per]
    if reduction == "mean":
        kept = [v for v in per if v >= 0]
        return float(np.mean(kept)) if kept else None
    return per


def auc_roc_score(y_true, y_pred, reduction="mean", **kwargs):
    """AUROC (ties count ½). For ``(n, T)`` inputs the per-task AUROC, ``-1.0`` for a
    single-class task, averaged over the others with ``reduction='mean'`` (LibAUC's rules)."""
    multi = _per_task(_native.auroc_multilabel, y_true, y_pred, reduction)
    if multi is not None or matrix(y_true, y_pred)[2] > 1:
        return multi
    return _native.auroc(as_f64(y_true, "y_true"), as_f64(y_pred, "y_pred"))


def auc_prc_score(y_true, y_pred, reduction="mean", **kwargs):
    """Average precision (AUPRC; tied scores are one threshold, as scikit-learn's
    ``average_precision_score``); per task for ``(n, T)`` inputs."""
    multi = _per_task(_native.average_precision_multilabel, y_true, y_pred, reduction)
    if multi is not None or matrix(y_true, y_pred)[2] > 1:
        return multi
    return _native.average_precision(as_f64(y_true, "y_true"), as_f64(y_pred, "y_pred"))


def pauc_roc_score(y_true, y_pred, max_fpr=1.0, min_tpr=0.0, reduction="mean", **kwargs):
    """Partial AUROC: one-way (``min_tpr = 0``: scikit-learn's McClish-standardised
    ``roc_auc_score(max_fpr=...)``) or two-way (FPR ≤ ``max_fpr``, TPR ≥ ``min_tpr``: LibAUC's
    subset definition)."""
    y, s = as_f64(y_true, "y_true"), as_f64(y_pred, "y_pred")
    if min_tpr == 0:
        if max_fpr >= 1.0:
            return _native.auroc(y, s)
        return _native.pauc_one_way(y, s, float(max_fpr))
    return _native.pauc_two_way(y, s, float(max_fpr), float(min_tpr))


def evaluator(y_true, y_pred, metrics=("auroc", "auprc", "pauroc"), return_str=False, format="%.4f(%s)", **kwargs):
    """Several metrics at once, as LibAUC's ``evaluator``."""
    results = {}
    if "auroc" in metrics:
        results["auroc"] = auc_roc_score(y_true, y_pred)
    if "auprc" in metrics:
        results["auprc"] = auc_prc_score(y_true, y_pred)
    if "pauroc" in metrics:
        results["pauroc"] = pauc_roc_score(y_true, y_pred, **kwargs)
    if return_str:
        return ",".join(format % (v, k) for k, v in results.items())
    return results


def roc_curve(y_true, y_pred):
    """``(fpr, tpr, thresholds)`` at every distinct score (scikit-learn's
    ``roc_curve(drop_intermediate=False)``)."""
    return _native.roc_curve(as_f64(y_true, "y_true"), as_f64(y_pred, "y_pred"))


def precision_recall_curve(y_true, y_pred):
    """``(precision, recall, thresholds)`` at every distinct score, highest threshold first."""
    return _native.precision_recall_curve(as_f64(y_true, "y_true"), as_f64(y_pred, "y_pred"))
