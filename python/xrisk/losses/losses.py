"""Cross-entropy and focal loss on logits (LibAUC ``libauc.losses.losses``)."""
import torch

from .. import _native
from .._host import host_labels, kernel_loss

__all__ = ["CrossEntropyLoss", "FocalLoss"]


class CrossEntropyLoss(torch.nn.Module):
    r"""Binary cross-entropy with a sigmoid, on logits (the mean over the batch), as
    ``F.binary_cross_entropy_with_logits``; the baseline of every AUC tutorial."""

    def forward(self, y_pred, y_true):
        y = host_labels(y_true)

        def call(z):
            v, g = _native.bce_with_logits(z, y)
            return v, [g]

        return kernel_loss(call, [y_pred], ["y_pred"])


class FocalLoss(torch.nn.Module):
    r"""Focal loss on logits, ``mean α_t (1 − p_t)^γ · BCE``, with ``α`` weighting the positives
    and ``1 − α`` the negatives, one weight per sample (LibAUC 2.0.1 weights the negatives by
    ``α`` and averages a ``B × B`` broadcast, spec §11 #10)."""

    def __init__(self, alpha=0.25, gamma=2, device=None):
        super().__init__()
        if not 0.0 <= float(alpha) <= 1.0 or float(gamma) < 0.0:
            raise ValueError(f"FocalLoss: alpha = {alpha} must be in [0, 1] and gamma = {gamma} >= 0")
        self.alpha, self.gamma = float(alpha), float(gamma)

    def forward(self, y_pred, y_true):
        y = host_labels(y_true)
        alpha, gamma = self.alpha, self.gamma

        def call(z):
            v, g = _native.focal(z, y, alpha, gamma)
            return v, [g]

        return kernel_loss(call, [y_pred], ["y_pred"])
