"""PDSCA — Primal-Dual Stochastic Compositional Adaptive, the optimizer of
``CompositionalAUCLoss`` (spec ``libauc_spec.md`` §3.2)."""
import torch

from ._skeleton import _AVERAGED, Skeleton
from .pesg import dual_ascent

__all__ = ["PDSCA"]


class PDSCA(Skeleton):
    r"""On the loss's cross-entropy steps: ``w ← w − lr0·g``, then the weight average
    ``w̄ ← (1−β1)·w̄ + β1·w``, ``w ← w̄``; on its AUC steps: ``z ← (1−β2)·z + β2·g``,
    ``w ← w − lr·z``, then PESG's dual step on ``α``. ``g`` is clipped, with weight decay and the
    epoch-level term. The branch follows the kind of step the loss took
    (``loss_fn.last_was_auc``); LibAUC 2.0.1 decides by ``alpha.grad is None``, which is never
    cleared, so after the first AUC step it always took the AUC branch (spec §11 #7)."""

    def __init__(self, params, loss_fn, lr=0.1, lr0=None, beta1=0.99, beta2=0.999, clip_value=1.0, weight_decay=1e-5,
                 epoch_decay=2e-3, verbose=True, device=None, **kwargs):
        self.loss_fn = loss_fn
        self.verbose = verbose
        self.lr0 = lr if lr0 is None else lr0
        self.beta1, self.beta2 = beta1, beta2
        extra = [t for t in (getattr(loss_fn, "a", None), getattr(loss_fn, "b", None)) if t is not None]
        if not extra:
            raise TypeError("PDSCA needs loss_fn with a, b, alpha and margin (CompositionalAUCLoss)")
        super().__init__(list(params) + extra, lr, "pesg", clip_value=clip_value, weight_decay=weight_decay,
                         epoch_decay=epoch_decay, momentum=beta2)
        for group in self.param_groups:
            group["beta1"] = beta1

    def _auc_step(self):
        flag = getattr(self.loss_fn, "last_was_auc", None)
        if flag is not None:
            return bool(flag)
        return self.loss_fn.alpha.grad is not None

    @torch.no_grad()
    def step(self, closure=None):
        loss = self._closure(closure)
        auc = self._auc_step()
        for group in self.param_groups:
            if auc:
                self._step_group(group)
            else:
                self._step_group(group, rule=_AVERAGED, lr=self.lr0)
        if auc:
            dual_ascent(self.loss_fn, self.param_groups[0]["lr"])
        return loss

    def update_lr(self, decay_factor=None, decay_factor0=None):
        """Divides ``lr`` by ``decay_factor`` and ``lr0`` by ``decay_factor0``."""
        super().update_lr(decay_factor)
        if decay_factor0 is not None:
            self.lr0 /= decay_factor0

    def update_regularizer(self, decay_factor=None, decay_factor0=None):
        super().update_regularizer(decay_factor)
        if decay_factor0 is not None:
            self.lr0 /= decay_factor0

    def state_dict(self):
        sd = super().state_dict()
        sd["lr0"] = self.lr0
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        self.lr0 = state_dict.pop("lr0", self.lr0)
        super().load_state_dict(state_dict)
