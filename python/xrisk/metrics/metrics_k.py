"""Ranking metrics at k (LibAUC ``libauc.metrics.metrics_k``), computed by ``xrisk-metrics``."""
import numpy as np

from .. import _native
from ._arrays import to_numpy

__all__ = ["precision_and_recall_at_k", "precision_at_k", "recall_at_k", "ap_at_k", "map_at_k", "ndcg_at_k"]


def precision_and_recall_at_k(y_true, y_pred, k, pos_label=1, capped=False, **kwargs):
    """Precision@k and recall@k of each column (a scalar pair for one column). Precision is
    ``hits / k``; ``capped=True`` gives LibAUC 2.0.1's ``hits / min(k, #positives)`` (spec §11
    #20). A column without positives is a ``ValueError``."""
    y = (to_numpy(y_true, "y_true") == pos_label).astype(np.float64)
    s = np.asarray(to_numpy(y_pred, "y_pred"), dtype=np.float64)
    cols = y.shape[-1] if y.ndim == 2 else 1
    y, s = np.ascontiguousarray(y.reshape(-1, cols)), np.ascontiguousarray(s.reshape(-1, cols))
    if y.shape != s.shape:
        raise ValueError(f"y_true has shape {y.shape} and y_pred {s.shape}: they must match")
    if not (isinstance(k, (int, np.integer)) and k > 0):
        raise ValueError(f"k = {k!r}: it must be a positive integer")
    precision, capped_p, recall = _native.precision_recall_at_k(y.reshape(-1), s.reshape(-1), cols, int(k))
    p = capped_p if capped else precision
    if cols == 1:
        return float(p[0]), float(recall[0])
    return tuple(float(v) for v in p), tuple(float(v) for v in recall)


def precision_at_k(y_true, y_pred, k, pos_label=1, **kwargs):
    """Precision@k (``hits / k``; ``capped=True`` for LibAUC's)."""
    return precision_and_recall_at_k(y_true, y_pred, k, pos_label, **kwargs)[0]


def recall_at_k(y_true, y_pred, k, pos_label=1, **kwargs):
    """Recall@k."""
    return precision_and_recall_at_k(y_true, y_pred, k, pos_label, **kwargs)[1]


def _ids(v, name):
    return [int(x) for x in np.asarray(v).reshape(-1)]


def ap_at_k(y_true, y_pred, k=10):
    """AP@k of one list: ``y_true`` the relevant item ids, ``y_pred`` the ranked item ids."""
    return _native.ap_at_k(_ids(y_true, "y_true"), _ids(y_pred, "y_pred"), int(k))


def map_at_k(y_true, y_pred, k=10):
    """Mean AP@k over the rows of ``y_true`` (relevant ids) and ``y_pred`` (ranked ids)."""
    rows_t = [_ids(r, "y_true") for r in y_true]
    rows_p = [_ids(r, "y_pred") for r in y_pred]
    return _native.map_at_k(rows_t, rows_p, int(k))


def ndcg_at_k(y_true, y_pred, k=5):
    """NDCG@k: ``y_true`` ``(U, P)`` the relevance of each user's ``P`` positives, ``y_pred``
    ``(U, C ≥ P)`` scores whose first ``P`` columns are those positives. Users whose relevance is
    all zero are left out (LibAUC returns NaN)."""
    rel = np.ascontiguousarray(to_numpy(y_true, "y_true"), dtype=np.float64)
    s = np.ascontiguousarray(to_numpy(y_pred, "y_pred"), dtype=np.float64)
    if rel.ndim != 2 or s.ndim != 2 or rel.shape[0] != s.shape[0]:
        raise ValueError(f"y_true {rel.shape} and y_pred {s.shape} must be matrices with one row per user")
    return _native.ndcg_at_k(rel.reshape(-1), rel.shape[1], s.reshape(-1), s.shape[1], int(k))
