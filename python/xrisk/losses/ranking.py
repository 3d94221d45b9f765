"""Listwise ranking losses (LibAUC ``libauc.losses.ranking``): ListwiseCE and NDCG (SONG,
K-SONG) on the Rust kernels.

``predictions`` is ``[batch_size, num_pos + num_neg]`` (each row a query's positives first, as
``TriSampler(mode='ranking')`` lays them out); ``batch`` is the dict LibAUC's ranking datasets
yield: ``user_id`` ``[B]``, ``user_item_id`` ``[B, ≥num_pos]`` (the pair ids of the positives
first), and for NDCG ``rating`` ``[B, ≥num_pos]``, ``num_pos_items`` ``[B]``, ``ideal_dcg``
``[B]``.
"""
import torch

from .. import _native
from .._host import as_tensor, host_ids, host_labels, kernel_loss
from ._state import KernelStateMixin

__all__ = ["ListwiseCELoss", "NDCGLoss"]


def _field(batch, key):
    if key not in batch:
        raise KeyError(f"batch lacks {key!r}: the ranking losses take LibAUC's batch dict "
                       "(user_id, user_item_id, rating, num_pos_items, ideal_dcg)")
    return as_tensor(batch[key], key)


def _pair_ids(batch, rows, num_pos):
    ids = _field(batch, "user_item_id").reshape(rows, -1)
    if ids.shape[1] < num_pos:
        raise ValueError(f"user_item_id has {ids.shape[1]} columns; it needs the {num_pos} positives' pair ids first")
    return host_ids(ids[:, :num_pos], "user_item_id")


class ListwiseCELoss(KernelStateMixin, torch.nn.Module):
    r"""Listwise cross-entropy with a moving average ``u`` per (query, relevant item) pair,
    optimized by SONG. ``u`` is kept on one scale as ``ln u`` (LibAUC shifts by the batch-wide
    maximum inside its moving average, spec §11 #15); identical to LibAUC on a first call."""

    _state_keys = ("log_u",)

    def __init__(self, N, num_pos, gamma, eps=1e-10, device=None):
        super().__init__()
        self.N, self.num_pos, self.gamma, self.eps = N, num_pos, gamma, eps
        self._kernel = _native.ListwiseCeKernel(int(N), int(num_pos), float(gamma))

    def forward(self, predictions, batch):
        if predictions.dim() != 2:
            raise ValueError(f"predictions must be [batch_size, num_pos + num_neg], got shape {tuple(predictions.shape)}")
        rows, width = predictions.shape
        pairs = _pair_ids(batch, rows, self.num_pos)
        kernel = self._kernel

        def call(s):
            v, g = kernel.forward(s, width, pairs)
            return v, [g]

        return kernel_loss(call, [predictions], ["predictions"])


class NDCGLoss(KernelStateMixin, torch.nn.Module):
    r"""Stochastic optimization of NDCG (SONG) and of top-K NDCG (K-SONG, ``topk > 0``;
    ``topk_version`` ``'theo'`` or ``'prac'``), optimized by SONG: ``u`` per pair, a threshold
    ``λ_q`` and (``'theo'``) a Hessian tracker ``s_q`` per query. The code's defaults are kept
    (``sigmoid_alpha`` 2.0, ``topk`` −1; LibAUC's docstring says otherwise), and ``n·u`` is
    floored at 1e-12 where LibAUC divides by zero."""

    _state_keys = ("u", "lambda_q", "s_q")

    def __init__(self, N, num_user, num_item, num_pos, gamma0=0.9, gamma1=0.9, eta0=0.01, margin=1.0, topk=-1,
                 topk_version="theo", tau_1=0.01, tau_2=0.0001, sigmoid_alpha=2.0, surrogate_loss="squared_hinge",
                 device=None):
        super().__init__()
        self.N, self.num_user, self.num_item, self.num_pos = N, num_user, num_item, num_pos
        self.topk, self.topk_version = topk, topk_version
        # LibAUC sizes the per-query tables num_user + 1 (user ids 0..num_user).
        self._kernel = _native.NdcgKernel(int(N), int(num_user) + 1, int(num_item), int(num_pos), gamma0, gamma1, eta0,
                                          margin, int(topk), topk_version, tau_1, tau_2, sigmoid_alpha, surrogate_loss)

    def forward(self, predictions, batch):
        if predictions.dim() != 2:
            raise ValueError(f"predictions must be [batch_size, num_pos + num_neg], got shape {tuple(predictions.shape)}")
        rows, width = predictions.shape
        p = self.num_pos
        pairs = _pair_ids(batch, rows, p)
        rating = _field(batch, "rating").reshape(rows, -1)
        if rating.shape[1] < p:
            raise ValueError(f"rating has {rating.shape[1]} columns; it needs the {p} positives' ratings first")
        ratings = host_labels(rating[:, :p], "rating")
        users = host_ids(_field(batch, "user_id"), "user_id")
        npos = host_labels(_field(batch, "num_pos_items"), "num_pos_items")
        idcg = host_labels(_field(batch, "ideal_dcg"), "ideal_dcg")
        kernel = self._kernel

        def call(s):
            v, g = kernel.forward(s, width, ratings, users, pairs, npos, idcg)
            return v, [g]

        return kernel_loss(call, [predictions], ["predictions"])
