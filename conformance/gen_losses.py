"""Conformance vectors for the X-risk losses, produced by LibAUC 2.0.1 on PyTorch (CPU, f32).
Run through generate.sh. Writes vectors/losses.json, read by crates/xrisk/tests/conformance_losses.rs.

Each case is a sequence of calls on one loss object: (scores, labels, ids) in, and out the loss
value, d loss / d scores, the state after the call (for AUCM: d loss / d a, d b). Scores are
probabilities, as LibAUC's tutorials feed them. Where xrisk fixes a LibAUC bug the case carries
a "note" and the reference comes from LibAUC's code with the bug corrected here.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from peer import Run
from libauc.losses import (AUCMLoss, APLoss, pAUC_DRO_Loss, CrossEntropyLoss, PairwiseAUCLoss, pAUC_CVaR_Loss,
                           tpAUC_KL_Loss, CompositionalAUCLoss)
from libauc.losses.auc import tpAUC_CVaR_loss  # not re-exported by libauc.losses in 2.0.1

run = Run(11282026, "losses.json")
rng, T = run.rng, run.T
dev = torch.device("cpu")


def lst(t):
    return [float(v) for v in np.asarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype=np.float64).ravel()]


class AUCMLossV2Fixed(AUCMLoss):
    """LibAUC's AUCMLoss v2 with issue #74 fixed (negative mean over the negatives, not the batch)
    and class means over class counts (not count_nonzero), spec libauc_spec.md §11 #1, #4."""

    def forward(self, y_pred, y_true, auto=True, **kwargs):
        y_pred = y_pred.reshape(-1, 1)
        y_true = y_true.reshape(-1, 1)
        pos = (y_true == 1).float()
        neg = (y_true == 0).float()
        mp = lambda t: (t * pos).sum() / pos.sum()
        mn = lambda t: (t * neg).sum() / neg.sum()
        return (mp((y_pred - self.a) ** 2) + mn((y_pred - self.b) ** 2)
                + 2 * self.alpha * (self.margin + mn(y_pred) - mp(y_pred)) - self.alpha ** 2)


def batches(n_data, labels, batch, n_calls, duplicates=False):
    out = []
    for _ in range(n_calls):
        pos = np.flatnonzero(labels == 1)
        neg = np.flatnonzero(labels == 0)
        k = max(1, batch // 3)
        p_ids = rng.choice(pos, k, replace=duplicates or len(pos) < k)
        n_ids = rng.choice(neg, batch - k, replace=False)
        ids = np.concatenate([p_ids, n_ids])
        rng.shuffle(ids)
        scores = rng.random(batch).astype(np.float32)
        out.append((ids, labels[ids].astype(np.float32), scores))
    return out


cases = []


def aucm_case(name, version, abal, margin, calls, note=None):
    cls = AUCMLossV2Fixed if version == "v2" else AUCMLoss
    loss = cls(margin=margin, version=version, device=dev)
    run.cast(loss, "a", "b", "alpha")
    a, b, al = abal
    with torch.no_grad():
        loss.a.fill_(a); loss.b.fill_(b); loss.alpha.fill_(al)
    rec = []
    for ids, y, s in calls:
        st = T(s, requires_grad=True)
        loss.a.grad = None; loss.b.grad = None
        v = loss(st, T(y))
        v.backward()
        rec.append({"ids": [int(i) for i in ids], "labels": lst(y), "scores": lst(s), "loss": float(v.detach()),
                    "grad": lst(st.grad), "grad_a": float(loss.a.grad), "grad_b": float(loss.b.grad)})
    c = {"name": name, "loss": "aucm", "version": version, "margin": margin, "a": a, "b": b, "alpha": al, "calls": rec}
    if note:
        c["note"] = note
    cases.append(c)


def make_stateful(kind, cfg, n_data):
    if kind == "ap":
        return APLoss(data_len=n_data, gamma=cfg["gamma"], margin=cfg["margin"], device=dev)
    if kind == "pauc_dro":
        return pAUC_DRO_Loss(data_len=n_data, gamma=cfg["gamma"], margin=cfg["margin"], Lambda=cfg["lambda"], device=dev)
    if kind == "pauc_cvar":
        return pAUC_CVaR_Loss(data_len=n_data, pos_len=n_data, beta=cfg["beta"], eta=cfg["eta"], margin=cfg["margin"], device=dev)
    if kind == "tpauc_kl":
        return tpAUC_KL_Loss(data_len=n_data, tau=cfg["tau"], Lambda=cfg["lambda"], gammas=tuple(cfg["gammas"]),
                             margin=cfg["margin"], device=dev)
    if kind == "tpauc_cvar":
        return tpAUC_CVaR_loss(data_length=n_data, threshold=cfg["margin"], alpha=cfg["alpha"], beta_0=cfg["beta_0"],
                               beta_1=cfg["beta_1"], theta_0=cfg["theta_0"], theta_1=cfg["theta_1"], device=dev)
    raise ValueError(kind)


def stateful_case(name, kind, cfg, n_data, labels, calls):
    loss = make_stateful(kind, cfg, n_data)
    rec = []
    for ids, y, s in calls:
        st = T(s, requires_grad=True)
        yt = T(y)
        if kind == "tpauc_cvar":  # takes flat tensors
            v = loss(st, yt, torch.tensor(ids))
        else:
            v = loss(st, yt, torch.tensor(ids))
        v.backward()
        r = {"ids": [int(i) for i in ids], "labels": lst(y), "scores": lst(s), "loss": float(v.detach()), "grad": lst(st.grad)}
        if kind == "ap":
            r["u_all"] = lst(loss.u_all); r["u_pos"] = lst(loss.u_pos)
        elif kind in ("pauc_dro", "pauc_cvar"):
            r["u"] = lst(loss.u_pos)
        elif kind == "tpauc_kl":
            r["u"] = lst(loss.u_pos); r["w"] = float(loss.w)
        elif kind == "tpauc_cvar":
            r["u"] = lst(loss.u); r["s1"] = lst(loss.s1); r["y"] = lst(loss.dual_var); r["s2"] = float(loss.s2)
        rec.append(r)
    cases.append({"name": name, "loss": kind, "data_len": n_data, **cfg, "calls": rec})


V2_NOTE = "LibAUC 2.0.1 v2 divides the negative mean by the batch size (issue #74) and uses count_nonzero; reference computed with both fixed"
for i, (abal, m) in enumerate([((0.0, 0.0, 0.0), 1.0), ((0.3, 0.2, 0.5), 1.0), ((0.6, 0.1, 1.2), 0.6)]):
    labels = (rng.random(40) < 0.3).astype(np.float32)
    aucm_case(f"aucm_v1_{i}", "v1", abal, m, batches(40, labels, 12, 3))
    aucm_case(f"aucm_v2_fixed_{i}", "v2", abal, m, batches(40, labels, 12, 3), note=V2_NOTE)

for i, (g, m, dup) in enumerate([(0.9, 1.0, False), (0.1, 0.6, False), (0.5, 1.0, True)]):
    labels = (rng.random(30) < 0.25).astype(np.float32)
    stateful_case(f"ap_{i}{'_duplicate_ids' if dup else ''}", "ap", {"gamma": g, "margin": m}, 30, labels,
                  batches(30, labels, 10, 4, duplicates=dup))
for i, (g, m, lam, dup) in enumerate([(0.9, 1.0, 1.0, False), (0.1, 0.6, 1.0, False), (0.5, 1.0, 0.5, True)]):
    labels = (rng.random(30) < 0.25).astype(np.float32)
    stateful_case(f"pauc_dro_{i}{'_duplicate_ids' if dup else ''}", "pauc_dro", {"gamma": g, "margin": m, "lambda": lam},
                  30, labels, batches(30, labels, 10, 4, duplicates=dup))

for i, (g, m, beta, eta) in enumerate([(0, 1.0, 0.2, 0.1), (0, 0.6, 0.1, 5.0), (0, 1.0, 0.5, 1.0)]):
    labels = (rng.random(30) < 0.25).astype(np.float32)
    stateful_case(f"pauc_cvar_{i}", "pauc_cvar", {"margin": m, "beta": beta, "eta": eta}, 30, labels,
                  batches(30, labels, 10, 4, duplicates=(i == 2)))
for i, (tau, lam, gam, m) in enumerate([(1.0, 1.0, (0.9, 0.9), 1.0), (1.0, 0.5, (0.5, 0.5), 1.0), (0.5, 1.0, (0.1, 0.3), 0.6)]):
    labels = (rng.random(30) < 0.25).astype(np.float32)
    stateful_case(f"tpauc_kl_{i}", "tpauc_kl", {"tau": tau, "lambda": lam, "gammas": list(gam), "margin": m}, 30, labels,
                  batches(30, labels, 10, 4, duplicates=(i == 2)))
for i, (m, al, b0, b1, t0, t1) in enumerate([(0.5, 0.1, 0.1, 0.1, 0.5, 0.5), (1.0, 1e-3, 1e-3, 1e-3, 0.5, 0.5),
                                             (0.7, 0.5, 0.2, 0.3, 0.3, 0.8)]):
    labels = (rng.random(30) < 0.25).astype(np.float32)
    stateful_case(f"tpauc_cvar_{i}", "tpauc_cvar", {"margin": m, "alpha": al, "beta_0": b0, "beta_1": b1, "theta_0": t0,
                                                    "theta_1": t1}, 30, labels, batches(30, labels, 10, 4, duplicates=(i == 2)))

def pairwise_case(name, surr, hp, calls):
    """One PairwiseAUCLoss case (stateless): value and gradient of every call."""
    loss = PairwiseAUCLoss(surr_loss=surr, hparam=hp)
    rec = []
    for ids, y, s in calls:
        st = T(s, requires_grad=True)
        v = loss(st, T(y))
        v.backward()
        rec.append({"labels": lst(y), "scores": lst(s), "loss": float(v.detach()), "grad": lst(st.grad)})
    c = {"name": name, "loss": "pairwise", "surrogate": surr, "calls": rec}
    if isinstance(hp, tuple):  # barrier hinge: LibAUC unpacks (margin, scale)
        c["hparam"], c["scale"] = hp
    else:
        c["hparam"] = hp
    cases.append(c)


# Pairwise AUC (stateless)
for i, (surr, hp) in enumerate([("logistic", 1.0), ("squared_hinge", 1.0), ("squared", 0.5), ("barrier_hinge", (0.8, 2.0))]):
    labels = (rng.random(30) < 0.3).astype(np.float32)
    pairwise_case(f"pairwise_{surr}", surr, hp, batches(30, labels, 10, 3))

# Compositional AUC (v1): k CE steps on probabilities, then k AUCM steps.
for i, (k, abal) in enumerate([(1, (0.2, 0.1, 0.3)), (2, (0.5, 0.3, 0.8)), (3, (0.0, 0.0, 0.0))]):
    loss = CompositionalAUCLoss(margin=1.0, k=k, version="v1", device=dev)
    run.cast(loss, "a", "b", "alpha")
    with torch.no_grad():
        loss.a.fill_(abal[0]); loss.b.fill_(abal[1]); loss.alpha.fill_(abal[2])
    labels = (rng.random(40) < 0.3).astype(np.float32)
    rec = []
    for ids, y, s in batches(40, labels, 12, 2 * k + 1):
        st = T(s, requires_grad=True)
        v = loss(st, T(y))
        v.backward()
        rec.append({"labels": lst(y), "scores": lst(s), "loss": float(v.detach()), "grad": lst(st.grad)})
    cases.append({"name": f"compositional_k{k}", "loss": "compositional", "k": k, "margin": 1.0,
                  "a": abal[0], "b": abal[1], "alpha": abal[2], "calls": rec})

# Focal loss on logits, with LibAUC 2.0.1's two bugs fixed (alpha on positives; per-sample weights).
FOCAL_NOTE = ("LibAUC 2.0.1 weights negatives by alpha and broadcasts (B,) weights against (B,1) losses (a B x B mean); "
              "reference computed per sample with alpha on the positives")
for i, (alpha, gamma) in enumerate([(0.25, 2.0), (0.5, 1.0), (0.9, 3.0)]):
    rec = []
    for _ in range(3):
        z = (rng.normal(size=9) * 2).astype(np.float32)
        y = (rng.random(9) < 0.4).astype(np.float32)
        zt = T(z, requires_grad=True)
        yt = T(y)
        bce = F.binary_cross_entropy_with_logits(zt, yt, reduction="none")
        at = torch.where(yt == 1, torch.tensor(alpha), torch.tensor(1 - alpha))
        v = (at * (1 - torch.exp(-bce)) ** gamma * bce).mean()
        v.backward()
        rec.append({"labels": lst(y), "scores": lst(z), "loss": float(v.detach()), "grad": lst(zt.grad)})
    cases.append({"name": f"focal_{i}", "loss": "focal", "alpha": alpha, "gamma": gamma, "note": FOCAL_NOTE, "calls": rec})

ce = CrossEntropyLoss()
for i in range(3):
    rec = []
    for _ in range(3):
        z = (rng.normal(size=9) * 3).astype(np.float32)
        y = (rng.random(9) < 0.4).astype(np.float32)
        zt = T(z, requires_grad=True)
        v = ce(zt, T(y))
        v.backward()
        rec.append({"labels": lst(y), "scores": lst(z), "loss": float(v.detach()), "grad": lst(zt.grad)})
    cases.append({"name": f"ce_{i}", "loss": "ce", "calls": rec})

# Large batches: 300 scores (100 positives) run the kernels' vector row loops (blocks of 64
# columns summed in f32 lanes) as well as their scalar tails; the small cases above fit a tail.
for kind, cfg in [("ap", {"gamma": 0.9, "margin": 1.0}), ("pauc_dro", {"gamma": 0.9, "margin": 1.0, "lambda": 1.0}),
                  ("pauc_cvar", {"margin": 1.0, "beta": 0.2, "eta": 0.1}),
                  ("tpauc_kl", {"tau": 1.0, "lambda": 1.0, "gammas": [0.9, 0.9], "margin": 1.0}),
                  ("tpauc_cvar", {"margin": 0.5, "alpha": 0.1, "beta_0": 0.1, "beta_1": 0.1, "theta_0": 0.5,
                                  "theta_1": 0.5})]:
    labels = (rng.random(600) < 0.3).astype(np.float32)
    stateful_case(f"{kind}_large", kind, cfg, 600, labels, batches(600, labels, 300, 3))
for surr, hp in [("squared_hinge", 1.0), ("logistic", 1.0)]:
    labels = (rng.random(600) < 0.3).astype(np.float32)
    pairwise_case(f"pairwise_{surr}_large", surr, hp, batches(600, labels, 300, 2))

run.write({"generator": "conformance/gen_losses.py", "torch": torch.__version__, "cases": cases})
print(f"wrote {len(cases)} loss cases to {run.path}", file=sys.stderr)
