"""The pairwise surrogate losses ``ℓ(m, t)`` of ``t = h_i − h_j`` as torch functions (LibAUC
``libauc.losses.surrogate``); the kernels evaluate the same functions in Rust."""
import torch
import torch.nn.functional as F

__all__ = ["squared_loss", "squared_hinge_loss", "hinge_loss", "logistic_loss", "barrier_hinge_loss",
           "get_surrogate_loss"]


def squared_loss(margin, t):
    """``(m − t)²``."""
    return (margin - t) ** 2


def squared_hinge_loss(margin, t):
    """``max(m − t, 0)²``."""
    return torch.clamp(margin - t, min=0) ** 2


def hinge_loss(margin, t):
    """``max(m − t, 0)``."""
    return torch.clamp(margin - t, min=0)


def logistic_loss(scale, t):
    """``log(1 + exp(−s·t))``, computed stably."""
    return F.softplus(-scale * t)


def barrier_hinge_loss(hparam, t):
    """``max(−s(m + t) + m, max(m − t, s(t − m)))`` with ``hparam = (m, s)`` (LibAUC's order)."""
    m, s = hparam
    return torch.maximum(-s * (m + t) + m, torch.maximum(m - t, s * (t - m)))


def get_surrogate_loss(loss_name="squared_hinge"):
    """The surrogate by name."""
    table = {"squared": squared_loss, "squared_hinge": squared_hinge_loss, "hinge": hinge_loss,
             "logistic": logistic_loss, "barrier_hinge": barrier_hinge_loss}
    if loss_name not in table:
        raise ValueError(f"surrogate {loss_name!r}: use one of {sorted(table)}")
    return table[loss_name]
