"""Multiple-instance AUC (LibAUC ``libauc.losses.mil``): MIDAM with softmax or attention
stochastic pooling, on the Rust kernel (per-bag moving averages of the pooling statistics)."""
import torch

from .. import _native
from .._host import default_device, host_ids, host_labels, kernel_loss
from ._state import KernelStateMixin

__all__ = ["MIDAM_softmax_pooling_loss", "MIDAM_attention_pooling_loss", "MIDAMLoss"]


class _Midam(KernelStateMixin, torch.nn.Module):
    _state_keys = ("num", "den", "gamma")

    def __init__(self, mode, data_len, margin, tau, gamma, device):
        super().__init__()
        self.device = default_device(device)
        self.data_len, self.margin, self.tau = data_len, margin, tau
        # a and b are primal variables (MIDAM appends them to the model's parameters); alpha is
        # the dual variable MIDAM steps itself.
        self.a = torch.zeros(1, dtype=torch.float32, requires_grad=True, device=self.device)
        self.b = torch.zeros(1, dtype=torch.float32, requires_grad=True, device=self.device)
        self.alpha = torch.zeros(1, dtype=torch.float32, requires_grad=False, device=self.device)
        self._kernel = _native.MidamKernel(mode, int(data_len), margin, tau, gamma)

    @property
    def gamma(self):
        return float(self._kernel.state()["gamma"])

    def update_smoothing(self, decay_factor):
        self._kernel.update_smoothing(float(decay_factor))

    def _loss(self, first, second, y_true, index):
        y = host_labels(y_true)
        ids = host_ids(index)
        kernel = self._kernel
        alpha = float(self.alpha.detach().reshape(-1)[0])

        def call(f, *rest):
            if second is None:
                a, b = rest
                v, g1, _, da, db = kernel.forward(f, None, y, ids, float(a[0]), float(b[0]), alpha)
                return v, [g1, [da], [db]]
            s, a, b = rest
            v, g1, g2, da, db = kernel.forward(f, s, y, ids, float(a[0]), float(b[0]), alpha)
            return v, [g1, g2, [da], [db]]

        if second is None:
            return kernel_loss(call, [first, self.a, self.b], ["y_pred", "a", "b"])
        return kernel_loss(call, [first, second, self.a, self.b], ["sn", "sd", "a", "b"])


class MIDAM_softmax_pooling_loss(_Midam):
    r"""MIDAM with smoothed-max pooling ``v = τ·ln mean exp(φ/τ)``: ``y_pred`` is each bag's mean
    ``exp(φ(x)/τ)`` over its sampled instances; ``s`` per bag is its moving average."""

    def __init__(self, data_len, margin=1.0, tau=0.1, gamma=0.9, device=None):
        super().__init__("softmax", data_len, margin, tau, gamma, device)

    def forward(self, y_pred, y_true, index):
        return self._loss(y_pred, None, y_true, index)


class MIDAM_attention_pooling_loss(_Midam):
    r"""MIDAM with attention pooling ``v = σ(Σ w φ / Σ w)``: ``y_pred = (sn, sd)``, each bag's
    mean ``w·φ`` and mean ``w`` over its sampled instances."""

    def __init__(self, data_len, margin=1.0, gamma=0.9, device=None):
        super().__init__("attention", data_len, margin, 0.1, gamma, device)

    def forward(self, y_pred, y_true, index):
        sn, sd = y_pred
        return self._loss(sn, sd, y_true, index)


class MIDAMLoss(torch.nn.Module):
    """``mode='attention'`` or ``'softmax'``; ``forward(y_pred=..., y_true=..., index=...)``
    (also ``exps=`` for softmax and ``sn=``, ``sd=`` for attention, as LibAUC's docstring)."""

    def __init__(self, mode="attention", **kwargs):
        super().__init__()
        if mode not in ("attention", "softmax"):
            raise ValueError(f"mode = {mode!r}: use 'attention' or 'softmax'")
        self.mode = mode
        self.loss_fn = (MIDAM_attention_pooling_loss if mode == "attention" else MIDAM_softmax_pooling_loss)(**kwargs)
        self.a, self.b, self.alpha, self.margin = self.loss_fn.a, self.loss_fn.b, self.loss_fn.alpha, self.loss_fn.margin

    def update_smoothing(self, decay_factor):
        self.loss_fn.update_smoothing(decay_factor)

    def forward(self, y_pred=None, y_true=None, index=None, exps=None, sn=None, sd=None):
        if y_pred is None:
            y_pred = exps if self.mode == "softmax" else (sn, sd)
        return self.loss_fn(y_pred, y_true, index)
