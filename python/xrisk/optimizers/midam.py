"""MIDAM — the optimizer of ``MIDAMLoss`` (spec ``libauc_spec.md`` §3.7) — and SCENT's SGD for
large sparse classifier matrices (§3.8)."""
import torch

from ._skeleton import Skeleton
from .pesg import dual_ascent

__all__ = ["MIDAM", "SCENT"]

_REQUIRED = object()


class MIDAM(Skeleton):
    r"""The skeleton on the model's weights and the loss's ``a``, ``b`` with ``g = ∇ + wd·w`` (no
    clipping) and ``buf ← μ·buf + (1−μ)·g`` (first ``buf = g``), ``w ← w − lr·buf``; then
    ``α ← max(0, α + lr·((m + b − a) − α))``."""

    def __init__(self, params, loss_fn, lr=_REQUIRED, momentum=0, weight_decay=0, device=None, **kwargs):
        if lr is _REQUIRED:
            raise TypeError("MIDAM: lr is required")
        self.loss_fn = loss_fn
        extra = [t for t in (getattr(loss_fn, "a", None), getattr(loss_fn, "b", None)) if t is not None]
        super().__init__(list(params) + extra, lr, "midam", weight_decay=weight_decay, momentum=momentum)

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        if getattr(self.loss_fn, "alpha", None) is not None:
            dual_ascent(self.loss_fn, self.param_groups[0]["lr"], scale=1.0)
        return loss


class SCENT(Skeleton):
    """PyTorch's SGD where weight decay applies only when the gradient tensor has a non-zero
    entry and the momentum buffer moves only in rows with a non-zero gradient (the step uses the
    whole buffer, as LibAUC 2.0.1)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if maximize:
            raise ValueError("SCENT(maximize=True) is not provided")
        super().__init__(params, lr, "sparse_sgd", weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                         nesterov=nesterov)
