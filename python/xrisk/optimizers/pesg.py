"""PESG — Proximal Epoch Stochastic Gradient, the optimizer of ``AUCMLoss`` and
``MultiLabelAUCMLoss`` (spec ``libauc_spec.md`` §3.1)."""
import torch

from .._host import is_distributed
from ._skeleton import Skeleton

__all__ = ["PESG"]


def dual_ascent(loss_fn, lr, scale=2.0):
    r"""``α ← clamp(α + lr·(s(m + b − a) − s·α), 0, 999)``: the closed-form ascent step on
    AUCM's dual variable (``s = 2``; MIDAM uses ``s = 1`` and no upper bound)."""
    a, b, alpha, m = loss_fn.a, loss_fn.b, loss_fn.alpha, loss_fn.margin
    with torch.no_grad():
        new = alpha + lr * (scale * (m + b - a) - scale * alpha)
        alpha.copy_(new.clamp(0.0, 999.0) if scale == 2.0 else new.clamp(min=0.0))


class PESG(Skeleton):
    r"""Proximal epoch stochastic gradient for the AUC-margin loss: the skeleton on the model's
    parameters and the loss's ``a``, ``b`` (appended as LibAUC does), then the dual step
    ``α ← clamp(α + lr·(2(m + b − a) − 2α), 0, 999)``.

    ``mode='sgd'`` uses heavy-ball momentum ``buf = μ·buf + g``; LibAUC 2.0.1 uses
    ``buf = (1−μ)·buf + μ·g`` (spec §11 #5), which ``compat_2_0_1=True`` reproduces (LibAUC's
    published learning rates were tuned with it). The reference point of ``epoch_decay`` starts
    at the initial weights (§11 #8). Under ``torch.distributed`` the gradients of ``a`` and ``b``
    are averaged over the processes before the step, as LibAUC 2.0.

    Example:
        >>> opt = PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, momentum=0.9)
        >>> opt.update_regularizer(decay_factor=10)   # at the decay epochs
    """

    def __init__(self, params, loss_fn, lr=0.1, mode="sgd", clip_value=1.0, weight_decay=1e-5, epoch_decay=2e-3,
                 momentum=0.9, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, verbose=True, device=None,
                 compat_2_0_1=False, **kwargs):
        mode = str(mode).lower()
        if mode not in ("sgd", "adam"):
            raise ValueError(f"mode = {mode!r}: use 'sgd' or 'adam'")
        self.loss_fn = loss_fn
        self.mode = mode
        self.verbose = verbose
        params = list(params)
        extra = [t for t in (getattr(loss_fn, "a", None), getattr(loss_fn, "b", None)) if t is not None]
        if not extra:
            raise TypeError("PESG needs loss_fn with a, b, alpha and margin (AUCMLoss or MultiLabelAUCMLoss)")
        rule = "adam" if mode == "adam" else ("pesg" if compat_2_0_1 else "sgd")
        super().__init__(params + extra, lr, rule, clip_value=clip_value, weight_decay=weight_decay,
                         epoch_decay=epoch_decay, momentum=momentum, betas=betas, eps=eps, amsgrad=amsgrad)

    @torch.no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        if is_distributed():
            world = torch.distributed.get_world_size()
            for t in (self.loss_fn.a, self.loss_fn.b):
                if t.grad is not None:
                    torch.distributed.all_reduce(t.grad)
                    t.grad.div_(world)
        for group in self.param_groups:
            self._step_group(group)
        if getattr(self.loss_fn, "alpha", None) is not None:
            dual_ascent(self.loss_fn, self.param_groups[0]["lr"])
        return loss
