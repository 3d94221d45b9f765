"""Conformance vectors for the optimizers: LibAUC 2.0.1 on a fixed tiny linear model (4 inputs,
1 output) and fixed data, 5 steps with each optimizer and its paired loss; the parameters
(weight, bias, and a, b, alpha where the loss has them) after the 5 steps are recorded, with the
optimizer's default hyper-parameters. Run through generate.sh; writes vectors/optimizers.json,
read by crates/xrisk/tests/conformance_optim.rs.

Bug fixes applied to LibAUC in this generator (spec libauc_spec.md §11), so the reference is the
intended algorithm: #8 the epoch-level reference point starts at the initial weights (LibAUC draws
N(0, 0.01^2) noise); #7 PDSCA's branch follows the loss's step kind (alpha.grad is cleared after
every step, as LibAUC 1.2.0 did).
"""
import json
import os
import sys

import numpy as np
import torch
import libauc.optimizers as O
from libauc.losses import AUCMLoss, APLoss, pAUC_DRO_Loss, pAUC_CVaR_Loss, tpAUC_KL_Loss, CompositionalAUCLoss, CrossEntropyLoss
from libauc.losses.auc import tpAUC_CVaR_loss

out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
rng = np.random.default_rng(5)
dev = torch.device("cpu")

N = 24
X = rng.normal(size=(N, 4)).astype(np.float32)
Y = np.zeros(N, dtype=np.float32); Y[[1, 4, 7, 10, 15, 19, 22]] = 1.0
W0 = (rng.normal(size=(1, 4)) * 0.5).astype(np.float32)
B0 = np.array([0.1], dtype=np.float32)
pos, neg = np.flatnonzero(Y == 1), np.flatnonzero(Y == 0)
BATCHES = []
for _ in range(5):
    ids = np.concatenate([rng.choice(pos, 3, replace=False), rng.choice(neg, 5, replace=False)])
    rng.shuffle(ids)
    BATCHES.append([int(i) for i in ids])


def model():
    m = torch.nn.Linear(4, 1)
    with torch.no_grad():
        m.weight.copy_(torch.tensor(W0)); m.bias.copy_(torch.tensor(B0))
    return m


def fix_reference(opt, params):
    """#8: reference point = initial weights."""
    if getattr(opt, "model_ref", None) is not None:
        for ref, p in zip(opt.model_ref, params):
            ref.data.copy_(p.data)


def run(name, loss_kind, loss_kwargs, opt_name, opt_kwargs, regularizer_after=None):
    torch.manual_seed(0)
    m = model()
    if loss_kind == "aucm":
        loss = AUCMLoss(device=dev, **loss_kwargs)
    elif loss_kind == "compositional":
        loss = CompositionalAUCLoss(device=dev, **loss_kwargs)
    elif loss_kind == "ap":
        loss = APLoss(data_len=N, device=dev, **loss_kwargs)
    elif loss_kind == "pauc_dro":
        loss = pAUC_DRO_Loss(data_len=N, device=dev, **loss_kwargs)
    elif loss_kind == "pauc_cvar":
        loss = pAUC_CVaR_Loss(data_len=N, pos_len=N, device=dev, **loss_kwargs)
    elif loss_kind == "tpauc_kl":
        loss = tpAUC_KL_Loss(data_len=N, device=dev, **loss_kwargs)
    elif loss_kind == "tpauc_cvar":
        loss = tpAUC_CVaR_loss(data_length=N, device=dev, **loss_kwargs)
    else:
        loss = CrossEntropyLoss()
    cls = getattr(O, opt_name)
    if opt_name in ("PESG", "PDSCA"):
        opt = cls(m.parameters(), loss_fn=loss, device=dev, verbose=False, **opt_kwargs)
    elif opt_name == "LARS":
        opt = cls(m.parameters(), **opt_kwargs)  # MoCo-v3's LARS takes no device
    else:
        opt = cls(m.parameters(), device=dev, **opt_kwargs)
    fix_reference(opt, opt.params if hasattr(opt, "params") else list(m.parameters()))
    g = opt.param_groups[0]
    defaults = {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()
                if k in ("lr", "lr0", "momentum", "dampening", "nesterov", "clip_value", "weight_decay", "epoch_decay",
                         "betas", "beta1", "beta2", "eps", "trust_coefficient")}
    mode = getattr(opt, "mode", {"SGD": "sgd", "LARS": "lars"}.get(opt_name, "adam"))
    for step, ids in enumerate(BATCHES):
        x = torch.tensor(X[ids]); y = torch.tensor(Y[ids]); idx = torch.tensor(ids)
        z = m(x).reshape(-1)
        if loss_kind == "ce":
            v = loss(z, y)
        elif loss_kind in ("aucm", "compositional"):
            v = loss(torch.sigmoid(z), y)
        else:
            v = loss(torch.sigmoid(z), y, idx)
        opt.zero_grad()
        v.backward()
        opt.step()
        if loss_kind == "compositional":
            loss.alpha.grad = None  # fix #7
        if regularizer_after is not None and step + 1 == regularizer_after:
            if opt_name in ("PESG",):
                opt.update_regularizer(decay_factor=2.0)
            else:
                opt.update_lr(decay_factor=2.0)
    out = {"name": name, "loss": loss_kind, "loss_kwargs": loss_kwargs, "optimizer": opt_name, "mode": mode,
           "kwargs": opt_kwargs, "defaults": defaults, "regularizer_after": regularizer_after,
           "weight": [float(v) for v in m.weight.detach().reshape(-1)], "bias": float(m.bias.detach()[0])}
    if loss_kind in ("aucm", "compositional"):
        out.update({"a": float(loss.a.detach()), "b": float(loss.b.detach()), "alpha": float(loss.alpha.detach())})
    return out


cases = [
    run("pesg_sgd", "aucm", {"margin": 1.0}, "PESG", {"lr": 0.1}, regularizer_after=3),
    run("pesg_sgd_v2_no_momentum", "aucm", {"margin": 0.8, "version": "v1"}, "PESG", {"lr": 0.05, "momentum": 0.0, "epoch_decay": 0.0}),
    run("pesg_adam", "aucm", {"margin": 1.0}, "PESG", {"lr": 0.01, "mode": "adam"}, regularizer_after=2),
    run("pdsca_k1", "compositional", {"margin": 1.0, "k": 1}, "PDSCA", {"lr": 0.1}),
    run("pdsca_k2_lr0", "compositional", {"margin": 0.6, "k": 2}, "PDSCA", {"lr": 0.05, "lr0": 0.2, "beta1": 0.9, "beta2": 0.5}),
    run("soap_adam", "ap", {"gamma": 0.9, "margin": 1.0}, "SOAP", {"lr": 0.01}),
    run("soap_sgd", "ap", {"gamma": 0.1, "margin": 0.6}, "SOAP", {"lr": 0.1, "mode": "sgd"}, regularizer_after=3),
    run("sopa", "pauc_cvar", {"beta": 0.2, "eta": 1.0}, "SOPA", {"lr": 0.01}),
    run("sopa_s", "pauc_dro", {"gamma": 0.1, "margin": 0.6}, "SOPAs", {"lr": 0.01}),
    run("sota_s", "tpauc_kl", {"gammas": (0.5, 0.5), "Lambda": 0.5}, "SOTAs", {"lr": 0.01}),
    run("staco", "tpauc_cvar", {"threshold": 0.5}, "STACO", {"lr": 0.01}),
    run("sgd_epoch_decay", "ce", {}, "SGD", {"lr": 0.1, "momentum": 0.9, "epoch_decay": 1e-2, "weight_decay": 1e-3}),
    run("sgd_nesterov", "ce", {}, "SGD", {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
    run("adam", "ce", {}, "Adam", {"lr": 0.01, "epoch_decay": 1e-2}),
    run("adamw", "ce", {}, "AdamW", {"lr": 0.01, "weight_decay": 0.05}),
    # The contrastive optimizers (spec §3.4-3.5); trust coefficients above the default make the
    # trust-ratio scaling visible within the tolerance.
    run("sogclr_lars", "ce", {}, "SogCLR", {"lr": 0.5, "weight_decay": 1e-2, "trust_coefficient": 0.05}),
    run("sogclr_lars_epoch_decay", "ce", {}, "SogCLR", {"lr": 0.3, "trust_coefficient": 0.1, "epoch_decay": 0.05}),
    run("isogclr_lars", "ce", {}, "iSogCLR", {"lr": 0.5, "trust_coefficient": 0.05}),
    run("isogclr_adamw", "ce", {}, "iSogCLR", {"lr": 0.01, "mode": "adamw", "weight_decay": 0.05}),
    run("lars", "ce", {}, "LARS", {"lr": 0.5, "weight_decay": 1e-3, "trust_coefficient": 0.05}),
]
with open(os.path.join(out_dir, "vectors", "optimizers.json"), "w") as fh:
    json.dump({"generator": "conformance/gen_optim.py", "x": X.tolist(), "y": Y.tolist(), "w0": W0.reshape(-1).tolist(),
               "b0": float(B0[0]), "batches": BATCHES, "cases": cases}, fh, indent=1)
print(f"wrote {len(cases)} optimizer cases", file=sys.stderr)
