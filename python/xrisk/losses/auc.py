"""AUROC, AUPRC and partial-AUC losses (LibAUC ``libauc.losses.auc``), on the Rust kernels.

Each class keeps LibAUC 2.0.1's name, arguments, defaults and call convention. The per-sample
state lives in the Rust kernel (host memory), whatever device the scores are on; it travels in
``state_dict()`` as buffers, so ``load_state_dict`` resumes it. Where xrisk fixes a LibAUC bug
the fixed math is what runs (``docs/libauc-differences.md``): the AUCM v2 negative mean, the
multi-label AUCM margin, the focal loss's α, ids for every batch row.
"""
import numpy as np
import torch

from .. import _native
from .._host import as_tensor, default_device, gather, host_ids, host_labels, is_distributed, kernel_loss
from ._state import KernelStateMixin

__all__ = ["AUCMLoss", "CompositionalAUCLoss", "AveragePrecisionLoss", "APLoss", "pAUC_CVaR_Loss", "pAUC_DRO_Loss",
           "tpAUC_KL_Loss", "pAUCLoss", "tpAUC_CVaR_loss", "PairwiseAUCLoss", "MultiLabelAUCMLoss", "mAUCMLoss",
           "meanAveragePrecisionLoss", "mAPLoss", "MultiLabelpAUCLoss", "mPAUCLoss"]


def _scalar(t):
    return float(t.detach().reshape(-1)[0])


class AUCMLoss(torch.nn.Module):
    r"""AUC-margin (min-max) loss, optimized by :class:`~xrisk.optimizers.PESG`:

    .. math:: \min_{w,a,b}\max_{\alpha\ge0} E[(h-a)^2|y=1] + E[(h-b)^2|y=0]
              + 2\alpha(m + E[h|y=0] - E[h|y=1]) - \alpha^2

    (v2; v1 weights the terms by the batch prior ``p``). ``a``, ``b``, ``alpha`` are parameters of
    the loss. Scores are probabilities (apply a sigmoid first). The v2 negative mean divides by
    the number of negatives (LibAUC 2.0.1 divides by the batch size, issue #74). A batch without
    a positive or a negative is a ``ValueError`` (use :class:`~xrisk.sampler.DualSampler`).

    Example:
        >>> loss_fn = AUCMLoss()
        >>> loss = loss_fn(torch.sigmoid(logits), targets)
    """

    def __init__(self, margin=1.0, imratio=None, version="v1", device=None):
        super().__init__()
        if version not in ("v1", "v2"):
            raise ValueError(f"version = {version!r}: use 'v1' or 'v2'")
        self.device = default_device(device)
        self.margin = margin
        self.p = imratio
        self.version = version
        self.a = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32, device=self.device))
        self.b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32, device=self.device))
        self.alpha = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32, device=self.device))

    def forward(self, y_pred, y_true, auto=True, **kwargs):
        y = host_labels(y_true)
        margin, version = self.margin, self.version

        def call(h, a, b, alpha):
            v, g, da, db, dal = _native.aucm(h, y, float(a[0]), float(b[0]), float(alpha[0]), margin, version)
            return v, [g, [da], [db], [dal]]

        return kernel_loss(call, [y_pred, self.a, self.b, self.alpha], ["y_pred", "a", "b", "alpha"])


class CompositionalAUCLoss(torch.nn.Module):
    r"""Compositional AUC loss, optimized by :class:`~xrisk.optimizers.PDSCA`: of every ``2k``
    calls, the first ``k`` return binary cross-entropy on the probabilities and the next ``k`` the
    AUCM objective (LibAUC's schedule, kept as coded). ``last_was_auc`` tells PDSCA which branch
    to take (LibAUC 2.0.1 decides by ``alpha.grad is None``, spec §11 #7)."""

    def __init__(self, margin=1.0, k=1, version="v1", imratio=None, backend="ce", device=None):
        super().__init__()
        if k < 1:
            raise ValueError(f"k = {k}: need k >= 1")
        if version not in ("v1", "v2"):
            raise ValueError(f"version = {version!r}: use 'v1' or 'v2'")
        if backend != "ce":
            raise ValueError(f"backend = {backend!r}: only 'ce' is provided (as in LibAUC)")
        self.device = default_device(device)
        self.margin = margin
        self.p = imratio
        self.version = version
        self.backend = backend
        self.k = k
        self.a = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32, device=self.device))
        self.b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32, device=self.device))
        self.alpha = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32, device=self.device))
        self._kernel = _native.CompositionalKernel(margin, version, k)
        self.last_was_auc = False

    @property
    def step(self):
        return int(self._kernel.state()["step"])

    def forward(self, y_pred, y_true, k=None, auto=True, **kwargs):
        if k is not None and k != self.k:
            st = self._kernel.state()
            self._kernel = _native.CompositionalKernel(self.margin, self.version, k)
            self._kernel.load_state(st["step"], st["last_was_auc"])
            self.k = k
        y = host_labels(y_true)
        step = self.step
        auc_step = step % (2 * self.k) >= self.k
        kernel = self._kernel

        def call(h, *abc):
            a, b, alpha = (float(t[0]) for t in abc) if abc else (_scalar(self.a), _scalar(self.b), _scalar(self.alpha))
            v, g, da, db, dal, _ = kernel.forward(h, y, a, b, alpha)
            return v, [g, [da], [db], [dal]][: 1 + len(abc)]

        if auc_step:
            out = kernel_loss(call, [y_pred, self.a, self.b, self.alpha], ["y_pred", "a", "b", "alpha"])
        else:
            out = kernel_loss(call, [y_pred], ["y_pred"])
        self.last_was_auc = auc_step
        return out

    def get_extra_state(self):
        return self._kernel.state()

    def set_extra_state(self, state):
        self._kernel.load_state(int(state["step"]), bool(state["last_was_auc"]))
        self.last_was_auc = bool(state["last_was_auc"])


def _full_ids(index, y, name="index"):
    """One id per batch row. LibAUC also takes the positives' ids alone (``len(index)`` = the
    number of positives); then the negatives' rows get id 0, which these losses never read."""
    ids = host_ids(index, name)
    if len(ids) != len(y):
        pos = np.flatnonzero(y == 1)
        if len(ids) == len(pos) and len(pos) > 0:
            full = np.zeros(len(y), dtype=np.int64)
            full[pos] = ids
            return full
    return ids


class _ScoreStateLoss(KernelStateMixin, torch.nn.Module):
    """A loss on scores with per-sample state: ``forward(y_pred, y_true, index)``."""

    def forward(self, y_pred, y_true, index, **kwargs):
        y_true = as_tensor(y_true, "y_true")
        index = as_tensor(index, "index")
        if is_distributed():
            y_pred, y_true, index = gather(y_pred.reshape(-1), y_true.reshape(-1).to(y_pred.device),
                                           index.reshape(-1).to(y_pred.device))
        y = host_labels(y_true)
        ids = _full_ids(index, y)
        kernel = self._kernel
        return kernel_loss(lambda h: self._forward(kernel, h, y, ids), [y_pred], ["y_pred"])

    @staticmethod
    def _forward(kernel, h, y, ids):
        v, g = kernel.forward(h, y, ids)
        return v, [g]


class AveragePrecisionLoss(_ScoreStateLoss):
    r"""AP loss for AUPRC, optimized by :class:`~xrisk.optimizers.SOAP`: the SOAP estimator
    with moving averages ``u_all``, ``u_pos`` per sample id (spec §2.4). Scores are
    probabilities; ``index`` holds the dataset index of every row (or of the positives only)."""

    _state_keys = ("u_all", "u_pos")

    def __init__(self, data_len, gamma=0.9, margin=1.0, surr_loss="squared_hinge", device=None):
        super().__init__()
        self.data_len, self.gamma, self.margin, self.surr_loss = data_len, gamma, margin, surr_loss
        self.device = default_device(device)
        self._kernel = _native.ApKernel(int(data_len), gamma, margin, surr_loss)


APLoss = AveragePrecisionLoss


class pAUC_CVaR_Loss(_ScoreStateLoss):
    r"""One-way partial AUC (FPR ≤ ``beta``) by CVaR, optimized by
    :class:`~xrisk.optimizers.SOPA`: a threshold per positive sample id."""

    _state_keys = ("s",)

    def __init__(self, data_len, pos_len, num_neg=None, margin=1.0, beta=0.2, eta=0.1, surr_loss="squared_hinge",
                 device=None):
        super().__init__()
        self.data_len, self.pos_len, self.num_neg = data_len, pos_len, num_neg
        self.margin, self.beta, self.eta, self.surr_loss = margin, beta, eta, surr_loss
        self.device = default_device(device)
        self._kernel = _native.PAucCvarKernel(int(data_len), beta, eta, margin, surr_loss)


class pAUC_DRO_Loss(_ScoreStateLoss):
    r"""One-way partial AUC by KL-DRO, optimized by :class:`~xrisk.optimizers.SOPAs`:
    ``u`` per positive sample id."""

    _state_keys = ("u",)

    def __init__(self, data_len, gamma=0.9, margin=1.0, Lambda=1.0, surr_loss="squared_hinge", device=None):
        super().__init__()
        self.data_len, self.gamma, self.margin, self.Lambda, self.surr_loss = data_len, gamma, margin, Lambda, surr_loss
        self.device = default_device(device)
        self._kernel = _native.PAucDroKernel(int(data_len), gamma, margin, Lambda, surr_loss)


class tpAUC_KL_Loss(_ScoreStateLoss):
    r"""Two-way partial AUC by KL-DRO, optimized by :class:`~xrisk.optimizers.SOTAs`:
    ``u`` per positive sample id and the scalar ``w``."""

    _state_keys = ("u", "w")

    def __init__(self, data_len, tau=1.0, Lambda=1.0, gammas=(0.9, 0.9), margin=1.0, surr_loss="squared_hinge",
                 device=None):
        super().__init__()
        self.data_len, self.tau, self.Lambda, self.gammas = data_len, tau, Lambda, tuple(gammas)
        self.margin, self.surr_loss = margin, surr_loss
        self.device = default_device(device)
        self._kernel = _native.TpAucKlKernel(int(data_len), tau, Lambda, tuple(gammas), margin, surr_loss)


class tpAUC_CVaR_loss(_ScoreStateLoss):
    r"""Exact two-way partial AUC by double CVaR, optimized by :class:`~xrisk.optimizers.STACO`
    (``threshold`` is the surrogate's margin, as in LibAUC)."""

    _state_keys = ("u", "s1", "y", "s2")

    def __init__(self, data_length, threshold=0.5, alpha=1e-1, beta_0=1e-1, beta_1=1e-1, theta_0=0.5, theta_1=0.5,
                 surr_loss="squared_hinge", device=None):
        super().__init__()
        self.data_len = data_length
        self.margin, self.alpha, self.beta_0, self.beta_1 = threshold, alpha, beta_0, beta_1
        self.theta_0, self.theta_1, self.surr_loss = theta_0, theta_1, surr_loss
        self.device = default_device(device)
        self._kernel = _native.TpAucCvarKernel(int(data_length), threshold, alpha, beta_0, beta_1, theta_0, theta_1,
                                               surr_loss)

    def update_steps(self, beta_0, beta_1):
        """New step sizes for the thresholds (the STACO tutorial divides them at lr decays)."""
        self.beta_0, self.beta_1 = beta_0, beta_1
        self._kernel.set_steps(beta_0, beta_1)


class pAUCLoss(torch.nn.Module):
    """Partial AUC by mode: ``'1w'``/``'SOPAs'`` (pAUC_DRO_Loss), ``'2w'``/``'SOTAs'``
    (tpAUC_KL_Loss), ``'SOPA'`` (pAUC_CVaR_Loss), ``'STACO'`` (tpAUC_CVaR_loss)."""

    def __init__(self, mode="1w", **kwargs):
        super().__init__()
        modes = {"SOPA": pAUC_CVaR_Loss, "SOPAs": pAUC_DRO_Loss, "1w": pAUC_DRO_Loss, "SOTAs": tpAUC_KL_Loss,
                 "2w": tpAUC_KL_Loss, "STACO": tpAUC_CVaR_loss}
        if mode not in modes:
            raise ValueError(f"mode = {mode!r}: use one of {sorted(modes)}")
        self.mode = mode
        self.loss_fn = modes[mode](**kwargs)

    def forward(self, y_pred, y_true, index, **kwargs):
        return self.loss_fn(y_pred, y_true, index, **kwargs)


class PairwiseAUCLoss(torch.nn.Module):
    r"""The mean surrogate over the batch's positive–negative pairs. ``surr_loss`` is one of
    ``'logistic'`` (the code default), ``'squared_hinge'``, ``'squared'``, ``'hinge'``,
    ``'barrier_hinge'`` (``hparam`` = ``(margin, scale)`` as LibAUC unpacks it)."""

    def __init__(self, surr_loss="logistic", hparam=1.0):
        super().__init__()
        self.surr_loss, self.hparam = surr_loss, hparam
        if isinstance(hparam, (tuple, list)):
            margin, scale = hparam
            self._kernel = _native.PairwiseKernel(surr_loss, float(margin), float(scale))
        else:
            self._kernel = _native.PairwiseKernel(surr_loss, float(hparam))

    def forward(self, y_pred, y_true, index=None, **kwargs):
        y = host_labels(y_true)
        kernel = self._kernel

        def call(h):
            v, g = kernel.forward(h, y)
            return v, [g]

        return kernel_loss(call, [y_pred], ["y_pred"])


def _tasks(task_id, name="task_id"):
    if task_id is None or len(task_id) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(host_ids(task_id, name))


def _task_loss(kernel, y_pred, y_true, index, task_id):
    """A multi-task kernel's loss on ``(B, T)`` scores with one id per row and the tasks to
    average over."""
    y = host_labels(y_true)
    ids = host_ids(index)
    tasks = _tasks(task_id)

    def call(h):
        v, g = kernel.forward(h, y, ids, tasks)
        return v, [g]

    return kernel_loss(call, [y_pred], ["y_pred"])


class MultiLabelAUCMLoss(torch.nn.Module):
    r"""AUCM per task (column) with per-task ``a``, ``b``, ``alpha``, averaged over the tasks
    (all, or those named by ``task_id``). v1 keeps the margin in ``p(1-p)·m`` (LibAUC 2.0.1
    drops it here, spec §11 #3)."""

    def __init__(self, margin=1.0, version="v1", imratio=None, num_labels=10, device=None):
        super().__init__()
        self.device = default_device(device)
        self.margin, self.version, self.p, self.num_labels = margin, version, imratio, num_labels
        self.a = torch.nn.Parameter(torch.zeros(num_labels, dtype=torch.float32, device=self.device))
        self.b = torch.nn.Parameter(torch.zeros(num_labels, dtype=torch.float32, device=self.device))
        self.alpha = torch.nn.Parameter(torch.zeros(num_labels, dtype=torch.float32, device=self.device))
        self._kernel = _native.MultiLabelAucmKernel(num_labels, margin, version)

    def forward(self, y_pred, y_true, task_id=[], auto=True, **kwargs):
        y = host_labels(y_true)
        tasks = _tasks(task_id)
        kernel = self._kernel

        def call(h, a, b, alpha):
            v, g, da, db, dal = kernel.forward(h, y, tasks, a.astype(np.float64), b.astype(np.float64),
                                               alpha.astype(np.float64))
            return v, [g, da, db, dal]

        return kernel_loss(call, [y_pred, self.a, self.b, self.alpha], ["y_pred", "a", "b", "alpha"])


mAUCMLoss = MultiLabelAUCMLoss


class meanAveragePrecisionLoss(KernelStateMixin, torch.nn.Module):
    r"""Mean AP over tasks (mAP), and mAP@k with ``top_k > 0``, optimized by SOAP: ``u_all``,
    ``u_pos`` per task and sample id. ``y_pred``, ``y_true`` are ``(B, num_labels)``; ``index``
    one dataset index per row."""

    _state_keys = ("u_all", "u_pos")

    def __init__(self, data_len, num_labels, margin=1.0, gamma=0.9, top_k=-1, surr_loss="squared_hinge", device=None):
        super().__init__()
        self.data_len, self.num_labels, self.margin, self.gamma = data_len, num_labels, margin, gamma
        self.top_k, self.surr_loss = top_k, surr_loss
        self.device = default_device(device)
        self._kernel = _native.MapKernel(int(data_len), int(num_labels), margin, gamma, int(top_k), surr_loss)

    def forward(self, y_pred, y_true, index, task_id=[], **kwargs):
        return _task_loss(self._kernel, y_pred, y_true, index, task_id)


mAPLoss = meanAveragePrecisionLoss


class MultiLabelpAUCLoss(KernelStateMixin, torch.nn.Module):
    r"""Partial AUC per task, averaged over tasks: ``mode='1w'`` (pAUC-DRO per task, LibAUC's
    default) or ``'2w'`` (tpAUC-KL per task, with its own ``w`` per task — LibAUC shares one,
    spec §2.10). The keyword arguments are those of the per-task loss (``data_len``, ``gamma``,
    ``margin``, ``Lambda``, ``tau``, ``gammas``, ``surr_loss``)."""

    _state_keys = ("u", "w")

    def __init__(self, mode="1w", num_labels=10, device=None, **kwargs):
        super().__init__()
        aliases = {"1w": "1w", "SOPAs": "1w", "2w": "2w", "SOTAs": "2w"}
        if mode not in aliases:
            raise ValueError(f"mode = {mode!r}: xrisk provides '1w' (SOPAs) and '2w' (SOTAs) per task")
        if "data_len" not in kwargs:
            raise TypeError("MultiLabelpAUCLoss needs data_len= (the number of samples)")
        self.mode, self.num_labels = mode, num_labels
        self.device = default_device(device)
        known = ("data_len", "margin", "gamma", "Lambda", "tau", "gammas", "surr_loss")
        unknown = set(kwargs) - set(known)
        if unknown:
            raise TypeError(f"unexpected keyword arguments {sorted(unknown)}; the per-task loss takes {known}")
        self.data_len = kwargs["data_len"]
        self._kernel = _native.MultiLabelPAucKernel(aliases[mode], int(num_labels), **kwargs)

    def forward(self, y_pred, y_true, index, task_id=[], **kwargs):
        return _task_loss(self._kernel, y_pred, y_true, index, task_id)


mPAUCLoss = MultiLabelpAUCLoss
