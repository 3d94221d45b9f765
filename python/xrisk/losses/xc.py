"""Extreme classification (LibAUC ``libauc.losses.xc``): the compositional entropic risk with
SCENT's or SOX's estimator of the per-sample normaliser."""
import torch

from .. import _native
from .._host import host_ids, kernel_loss
from ._state import KernelStateMixin

__all__ = ["EntLossClassification"]


class EntLossClassification(KernelStateMixin, torch.nn.Module):
    r"""``F(w) = mean_i log Σ_k exp(h(x_i)ᵀ(w_k − w_{y_i}))`` with ``ν`` per sample (log scale),
    estimated by SCENT (``is_scent=True``) or SOX's moving average. ``forward(logits, indices)``
    takes the ``[B, K]`` logits over the sampled classes and returns ``{"loss": loss}`` as LibAUC.
    SOX at ``γ = 1`` (``adjust_gamma(0, E)``) is the limit ``ν = ln m`` instead of LibAUC's math
    domain error (spec §11 #23)."""

    _state_keys = ("nu", "gamma")

    def __init__(self, data_size, alpha=10.0, gamma=0.9, is_scent=True, alpha_multiplier=1.0):
        super().__init__()
        self.data_size, self.alpha, self.gamma_orig = data_size, alpha, gamma
        self.is_scent, self.alpha_multiplier = is_scent, alpha_multiplier
        self._kernel = _native.EntropicKernel(int(data_size), alpha, gamma, bool(is_scent), alpha_multiplier)

    @property
    def gamma(self):
        return self._kernel.gamma

    def adjust_gamma(self, epoch, max_epoch):
        self._kernel.adjust_gamma(int(epoch), int(max_epoch))

    def forward(self, logits, indices):
        if logits.dim() != 2:
            raise ValueError(f"logits must be [batch_size, num_classes], got shape {tuple(logits.shape)}")
        k = logits.shape[1]
        ids = host_ids(indices, "indices")
        kernel = self._kernel

        def call(z):
            v, g = kernel.forward(z, k, ids)
            return v, [g]

        return {"loss": kernel_loss(call, [logits], ["logits"])}
