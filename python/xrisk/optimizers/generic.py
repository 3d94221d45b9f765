"""SOAP, SOPA, SOPAs, SOTAs, STACO and SONG — numerically the same optimizer (the skeleton
with SGD momentum or Adam; the algorithm-specific work is in their losses) with LibAUC 2.0.1's
defaults (spec ``libauc_spec.md`` §3.3) — and LibAUC's SGD, Adam and AdamW (§3.6)."""
from ._skeleton import Skeleton

__all__ = ["SOAP", "SOPA", "SOPAs", "SOTAs", "STACO", "SONG", "SGD", "Adam", "AdamW"]

_REQUIRED = object()


class _Generic(Skeleton):
    """``mode='adam'`` or ``'sgd'`` on the skeleton (``loss_fn`` and other LibAUC keywords are
    accepted and not needed)."""

    def __init__(self, params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                 eps, amsgrad, verbose):
        if lr is _REQUIRED:
            raise TypeError(f"{type(self).__name__}: lr is required")
        mode = str(mode).lower()
        if mode not in ("adam", "sgd"):
            raise ValueError(f"mode = {mode!r}: use 'adam' or 'sgd'")
        self.mode = mode
        self.verbose = verbose
        super().__init__(params, lr, mode, clip_value=clip_value, weight_decay=weight_decay, epoch_decay=epoch_decay,
                         momentum=momentum, dampening=dampening, nesterov=nesterov, betas=betas, eps=eps,
                         amsgrad=amsgrad)


class SOAP(_Generic):
    """The optimizer of ``APLoss`` / ``mAPLoss`` (Adam by default)."""

    def __init__(self, params, lr=1e-3, mode="adam", clip_value=1.0, weight_decay=1e-5, epoch_decay=0, momentum=0.9,
                 nesterov=False, dampening=0.1, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, verbose=True,
                 device=None, **kwargs):
        super().__init__(params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                         eps, amsgrad, verbose)


class SOPA(_Generic):
    """The optimizer of ``pAUC_CVaR_Loss`` (``eta`` is accepted and unused, as in LibAUC)."""

    def __init__(self, params, mode="adam", eta=1.0, lr=1e-3, clip_value=1.0, weight_decay=0, epoch_decay=0,
                 betas=(0.9, 0.999), eps=1e-8, amsgrad=False, momentum=0.9, nesterov=False, dampening=0, verbose=False,
                 device=None, **kwargs):
        super().__init__(params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                         eps, amsgrad, verbose)


class SOPAs(_Generic):
    """The optimizer of ``pAUC_DRO_Loss`` (clip 2.0 by default)."""

    def __init__(self, params, lr=1e-3, mode="adam", clip_value=2.0, weight_decay=1e-5, epoch_decay=0, momentum=0.9,
                 nesterov=False, dampening=0.1, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, verbose=True,
                 device=None, **kwargs):
        super().__init__(params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                         eps, amsgrad, verbose)


class SOTAs(_Generic):
    """The optimizer of ``tpAUC_KL_Loss``."""

    def __init__(self, params, mode="adam", lr=1e-3, clip_value=1.0, weight_decay=0, epoch_decay=0,
                 betas=(0.9, 0.999), eps=1e-8, amsgrad=False, momentum=0.9, nesterov=False, dampening=0, verbose=False,
                 device=None, **kwargs):
        super().__init__(params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                         eps, amsgrad, verbose)


class STACO(_Generic):
    """The optimizer of ``tpAUC_CVaR_loss``."""

    def __init__(self, params, mode="adam", lr=1e-3, clip_value=1.0, weight_decay=0, epoch_decay=0,
                 betas=(0.9, 0.999), eps=1e-8, amsgrad=False, momentum=0.9, nesterov=False, dampening=0, verbose=False,
                 device=None, **kwargs):
        super().__init__(params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                         eps, amsgrad, verbose)


class SONG(_Generic):
    """The optimizer of ``NDCGLoss`` and ``ListwiseCELoss`` (SGD with momentum by default)."""

    def __init__(self, params, lr=_REQUIRED, clip_value=1.0, weight_decay=0, epoch_decay=0, mode="sgd", momentum=0.9,
                 dampening=0, nesterov=False, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, verbose=False, device=None,
                 **kwargs):
        super().__init__(params, lr, mode, clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening, betas,
                         eps, amsgrad, verbose)


class SGD(_Generic):
    """LibAUC's SGD: PyTorch's, with gradients clipped to ``[−1, 1]`` by default and the
    epoch-level term."""

    def __init__(self, params, lr=_REQUIRED, momentum=0, dampening=0, clip_value=1.0, epoch_decay=0, weight_decay=0,
                 nesterov=False, verbose=True, device=None, **kwargs):
        super().__init__(params, lr, "sgd", clip_value, weight_decay, epoch_decay, momentum, nesterov, dampening,
                         (0.9, 0.999), 1e-8, False, verbose)


class Adam(_Generic):
    """LibAUC's Adam: coupled L2, clipping at 1.0 by default, the epoch-level term."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, clip_value=1.0, epoch_decay=0, weight_decay=0,
                 amsgrad=False, verbose=True, device=None, **kwargs):
        super().__init__(params, lr, "adam", clip_value, weight_decay, epoch_decay, 0.0, False, 0.0, betas, eps,
                         amsgrad, verbose)


class AdamW(Skeleton):
    """LibAUC's AdamW: decoupled decay ``w ← w(1 − lr·wd)`` before the Adam step, clipping at
    10 by default."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, clip_value=10.0, epoch_decay=0,
                 weight_decay=1e-2, amsgrad=False, verbose=False, device=None, **kwargs):
        self.mode = "adamw"
        self.verbose = verbose
        super().__init__(params, lr, "adamw", clip_value=clip_value, weight_decay=weight_decay,
                         epoch_decay=epoch_decay, betas=betas, eps=eps, amsgrad=amsgrad)
