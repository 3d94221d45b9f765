"""SogCLR and iSogCLR (the optimizers of ``GCLoss``) and MoCo-v3's LARS (spec
``libauc_spec.md`` §3.4–3.5)."""
from ._skeleton import Skeleton

__all__ = ["SogCLR", "iSogCLR", "LARS"]

_REQUIRED = object()


class SogCLR(Skeleton):
    r"""``mode='lars'``: for parameters with two or more dimensions ``g = ∇ + wd·w (+ λ0(w − w_ref))``
    scaled by the trust ratio ``trust·‖w‖/‖g‖``; vectors (biases, norms) take the raw gradient;
    then ``mu ← momentum·mu + g``, ``w ← w − lr·mu`` (no clipping). ``mode='adamw'``: decoupled
    decay, clipped gradient, Adam."""

    _default_momentum = 0.9

    def __init__(self, params, lr=_REQUIRED, clip_value=10.0, weight_decay=1e-6, epoch_decay=0, mode="lars",
                 momentum=None, trust_coefficient=0.001, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, verbose=False,
                 device=None, **kwargs):
        if lr is _REQUIRED:
            raise TypeError(f"{type(self).__name__}: lr is required")
        mode = str(mode).lower()
        if mode not in ("lars", "adamw"):
            raise ValueError(f"mode = {mode!r}: use 'lars' or 'adamw'")
        self.mode = mode
        self.verbose = verbose
        momentum = self._default_momentum if momentum is None else momentum
        super().__init__(params, lr, mode, clip_value=clip_value, weight_decay=weight_decay, epoch_decay=epoch_decay,
                         momentum=momentum, betas=betas, eps=eps, amsgrad=amsgrad,
                         trust_coefficient=trust_coefficient)


class iSogCLR(SogCLR):
    """SogCLR with ``momentum=0`` by default (LibAUC's preset for individualized temperatures)."""

    _default_momentum = 0.0


class LARS(Skeleton):
    """MoCo-v3's LARS: SogCLR's ``'lars'`` branch without the epoch-level term."""

    def __init__(self, params, lr=0, weight_decay=0, momentum=0.9, trust_coefficient=0.001):
        super().__init__(params, lr, "lars", weight_decay=weight_decay, momentum=momentum,
                         trust_coefficient=trust_coefficient)
