"""Global contrastive losses (LibAUC ``libauc.losses.contrastive``): SogCLR and iSogCLR for one
modality (``GCLoss_v1``) and for image–text pairs (``GCLoss_v2``), on the Rust kernels. The
similarity matrices are formed in torch (on the features' device); the kernel returns the
gradient with respect to them."""
import torch
import torch.nn.functional as F

from .. import _native
from .._host import host_ids, kernel_loss
from ._state import KernelStateMixin

__all__ = ["GCLoss_v1", "GCLoss_v2", "GCLoss"]


def _views(h1, h2, index, what):
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise ValueError(f"{what}: the two views must be [batch_size, dim] of one shape, got {tuple(h1.shape)} and "
                         f"{tuple(h2.shape)}")
    if h1.shape[0] < 2:
        raise ValueError(f"{what}: the contrastive loss needs at least 2 samples per batch (every other sample is a "
                         "negative)")
    ids = host_ids(index, "index")
    if len(ids) != h1.shape[0]:
        raise ValueError(f"index holds {len(ids)} ids for a batch of {h1.shape[0]}")
    return ids


class GCLoss_v1(KernelStateMixin, torch.nn.Module):
    r"""Unimodal global contrastive loss (SogCLR; iSogCLR with ``enable_isogclr=True``): a moving
    average ``u`` per sample of the negatives' ``exp(sim/τ)``, and with iSogCLR a temperature per
    sample learnt by its DRO gradient. ``forward(hidden1, hidden2, index)`` on the two views'
    features (normalised inside, as LibAUC). ``distributed=True`` is not provided."""

    _state_keys = ("u", "tau", "grad_tau", "gamma")

    def __init__(self, N=100000, tau=0.1, gamma=0.9, eps=1e-8, device=None, distributed=False, enable_isogclr=False,
                 tau_min=0.05, tau_max=0.7, rho=0.3, eta=0.01, beta=0.9, gamma_schedule="constant",
                 gamma_decay_epochs=-1):
        super().__init__()
        if distributed:
            raise ValueError("GCLoss_v1(distributed=True) is not provided by xrisk: gather the features yourself and "
                             "pass the global batch, or train on one process")
        self.N, self.tau, self.eps, self.enable_isogclr = N, tau, eps, enable_isogclr
        self.gamma_schedule = gamma_schedule
        self._kernel = _native.GclKernel(int(N), tau, gamma, eps, bool(enable_isogclr), tau_min, tau_max, rho, eta, beta,
                                         gamma_schedule, int(gamma_decay_epochs))

    @property
    def gamma(self):
        return float(self._kernel.state()["gamma"])

    def adjust_gamma(self, epoch):
        self._kernel.adjust_gamma(int(epoch))

    def forward(self, hidden1, hidden2, index):
        ids = _views(hidden1, hidden2, index, "GCLoss_v1")
        e1, e2 = F.normalize(hidden1, p=2, dim=1), F.normalize(hidden2, p=2, dim=1)
        ab, aa, bb = e1 @ e2.T, e1 @ e1.T, e2 @ e2.T
        kernel = self._kernel

        def call(sab, saa, sbb):
            v, g1, g2, g3 = kernel.forward(sab, saa, sbb, ids)
            return v, [g1, g2, g3]

        return kernel_loss(call, [ab, aa, bb], ["logits_ab", "logits_aa", "logits_bb"])


class GCLoss_v2(KernelStateMixin, torch.nn.Module):
    r"""Bimodal global contrastive loss on image–text pairs with a global constant temperature
    (``temperature_scheme='global_constant'``, SogCLR) or one per sample and modality
    (``'individual_learnable'``, iSogCLR). ``forward(image_features, text_features, index)`` takes
    normalised features (as LibAUC) and returns ``(loss, (mean τ_image, mean τ_text))`` for
    iSogCLR, ``(loss, None)`` otherwise, as LibAUC; LibAUC's scale is kept. ``'global_learnable'``
    and ``distributed=True`` are not provided."""

    _state_keys = ("u_image", "b_image", "tau_image", "grad_tau_image", "u_text", "b_text", "tau_text",
                   "grad_tau_text", "gamma")

    def __init__(self, N=1000000, tau=0.01, gamma=0.9, cache_labels=False, rank=0, world_size=1, distributed=False,
                 temperature_scheme="global_constant", tau_min=0.005, tau_max=0.05, rho=6.0, eta=0.01, beta=0.9,
                 gamma_schedule="constant", gamma_decay_epochs=-1, **kwargs):
        super().__init__()
        if kwargs.get("enable_isogclr"):
            temperature_scheme = "individual_learnable"
        if temperature_scheme not in ("global_constant", "individual_learnable"):
            raise ValueError(f"temperature_scheme = {temperature_scheme!r}: xrisk provides 'global_constant' and "
                             "'individual_learnable'")
        if distributed or world_size > 1:
            raise ValueError("GCLoss_v2(distributed=True) is not provided by xrisk: gather the features yourself and "
                             "pass the global batch, or train on one process")
        self.N, self.tau, self.temperature_scheme = N, tau, temperature_scheme
        self._kernel = _native.GclBimodalKernel(int(N), tau, gamma, temperature_scheme == "individual_learnable", tau_min,
                                                tau_max, rho, eta, beta, gamma_schedule, int(gamma_decay_epochs))

    @property
    def gamma(self):
        return float(self._kernel.state()["gamma"])

    def adjust_gamma(self, epoch):
        self._kernel.adjust_gamma(int(epoch))

    def forward(self, image_features, text_features, index):
        ids = _views(image_features, text_features, index, "GCLoss_v2")
        individual = self.temperature_scheme == "individual_learnable"
        if individual:
            st = self._kernel.state()
            taus = (float(st["tau_image"][ids].mean()), float(st["tau_text"][ids].mean()))
        s = image_features @ text_features.T
        kernel = self._kernel

        def call(sim):
            v, g = kernel.forward(sim, ids)
            return v, [g]

        loss = kernel_loss(call, [s], ["logits_per_image"])
        if individual:
            return loss, tuple(torch.tensor(t, device=s.device) for t in taus)
        return loss, None


class GCLoss(torch.nn.Module):
    """``mode='unimodal'`` (GCLoss_v1) or ``'bimodal'`` (GCLoss_v2) with their keyword
    arguments."""

    def __init__(self, mode="unimodal", **kwargs):
        super().__init__()
        if mode not in ("unimodal", "bimodal"):
            raise ValueError(f"mode = {mode!r}: use 'unimodal' or 'bimodal'")
        self.mode = mode
        self.loss_fn = GCLoss_v1(**kwargs) if mode == "unimodal" else GCLoss_v2(**kwargs)

    def forward(self, hidden1, hidden2, index, **kwargs):
        return self.loss_fn(hidden1, hidden2, index, **kwargs)

    def adjust_gamma(self, epoch):
        self.loss_fn.adjust_gamma(epoch)
