"""Conformance vectors for MIDAM (softmax and attention pooling losses, the MIDAM optimizer), the
compositional entropic loss (SCENT and SOX estimators, the SCENT optimizer), the multi-label
pAUC loss and PESG on the multi-label AUCM loss, from LibAUC 2.0.1; writes vectors/mil_xc.json, read by crates/xrisk/tests/conformance_mil_xc.rs.

Loss cases: a fixed sequence of calls on one loss object (bag/sample ids repeat across calls),
each recording the value, the gradient w.r.t. the inputs and w.r.t. a, b, and the state after
the call. Optimizer cases: a fixed tiny model, 5 steps, the parameters after every step.
"""
import contextlib
import io
import json
import math
import os
import sys

import numpy as np
import torch
from libauc.losses import MIDAMLoss, MultiLabelAUCMLoss, MultiLabelpAUCLoss
from libauc.optimizers import PESG
from libauc.losses.xc import EntLossClassification
from libauc.optimizers import MIDAM
from libauc.optimizers.scent import SCENT
from peer import Run

run = Run(31, "mil_xc.json")
rng, T = run.rng, run.T
dev = torch.device("cpu")


def lst(a):
    a = a.detach().numpy() if torch.is_tensor(a) else a
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


N_BAGS, B = 10, 6
cases = []


def cast_midam(loss):
    """MIDAM's a, b, alpha in the working precision (LibAUC creates them as float32)."""
    run.cast(loss.loss_fn, "a", "b", "alpha")
    loss.a, loss.b, loss.alpha = loss.loss_fn.a, loss.loss_fn.b, loss.loss_fn.alpha


def bag_batch():
    """B distinct bag ids with both classes."""
    while True:
        ids = rng.choice(N_BAGS, B, replace=False)
        y = (ids % 3 == 0).astype(np.float32)
        if 0 < y.sum() < B:
            return ids, y


for mode, kw in [("softmax", dict(tau=0.1, gamma=0.9, margin=1.0)), ("softmax", dict(tau=0.5, gamma=0.3, margin=0.6)),
                 ("attention", dict(gamma=0.9, margin=1.0)), ("attention", dict(gamma=0.5, margin=0.8))]:
    loss = MIDAMLoss(mode=mode, data_len=N_BAGS, device=dev, **kw)
    cast_midam(loss)
    a0, b0, al0 = (float(v) for v in rng.random(3) * 0.5)
    with torch.no_grad():
        loss.a.fill_(a0); loss.b.fill_(b0); loss.alpha.fill_(al0)
    calls = []
    for _ in range(4):
        ids, y = bag_batch()
        loss.a.grad = None; loss.b.grad = None
        if mode == "softmax":
            yp = T(np.exp(rng.normal(size=B) * 0.3 / kw["tau"]).astype(np.float32), requires_grad=True)
            v = loss(y_pred=yp, y_true=T(y), index=torch.tensor(ids))
            v.backward()
            rec = {"y_pred": lst(yp), "grad": lst(yp.grad), "state": lst(loss.loss_fn.s)}
        else:
            sn = T(rng.normal(size=B).astype(np.float32), requires_grad=True)
            sd = T((rng.random(B) + 0.2).astype(np.float32), requires_grad=True)
            v = loss(y_pred=(sn, sd), y_true=T(y), index=torch.tensor(ids))
            v.backward()
            rec = {"sn": lst(sn), "sd": lst(sd), "grad_sn": lst(sn.grad), "grad_sd": lst(sd.grad),
                   "state": lst(loss.loss_fn.sn), "state_d": lst(loss.loss_fn.sd)}
        rec.update({"labels": lst(y), "ids": [int(i) for i in ids], "loss": float(v.detach()),
                    "grad_a": float(loss.a.grad), "grad_b": float(loss.b.grad)})
        calls.append(rec)
    cases.append({"name": f"midam_{mode}_{len(cases)}", "kind": "midam_loss", "mode": mode, "data_len": N_BAGS,
                  "a": a0, "b": b0, "alpha": al0, **kw, "calls": calls})

# MIDAM optimizer: a linear instance scorer on fixed bags, softmax pooling over every instance.
D, INST = 3, 4
BAGS = rng.normal(size=(N_BAGS, INST, D)).astype(np.float32)
W0 = (rng.normal(size=(1, D)) * 0.5).astype(np.float32)
B0 = np.array([0.05], dtype=np.float32)
for mode, lr, mom, wd in [("softmax", 0.1, 0.1, 1e-4), ("softmax", 0.05, 0.0, 0.0), ("attention", 0.1, 0.5, 1e-3)]:
    torch.manual_seed(0)
    lin = torch.nn.Linear(D, 1)
    att = torch.nn.Linear(D, 1)
    with torch.no_grad():
        lin.weight.copy_(T(W0)); lin.bias.copy_(T(B0))
        att.weight.copy_(T(W0[:, ::-1].copy())); att.bias.fill_(0.0)
    params = list(lin.parameters()) + (list(att.parameters()) if mode == "attention" else [])
    tau = 0.2
    loss = MIDAMLoss(mode=mode, data_len=N_BAGS, device=dev, margin=1.0, gamma=0.9, **({"tau": tau} if mode == "softmax" else {}))
    cast_midam(loss)
    opt = MIDAM(params, loss_fn=loss, lr=lr, momentum=mom, weight_decay=wd, device=dev)
    steps, batches = [], []
    for t in range(5):
        ids, y = bag_batch()
        x = T(BAGS[ids])  # (B, INST, D)
        phi = lin(x).squeeze(-1)
        if mode == "softmax":
            v = loss(y_pred=torch.exp(phi / tau).mean(dim=1), y_true=T(y), index=torch.tensor(ids))
        else:
            w = torch.exp(att(x).squeeze(-1))
            v = loss(y_pred=((phi * w).mean(dim=1), w.mean(dim=1)), y_true=T(y), index=torch.tensor(ids))
        opt.zero_grad(); loss.a.grad = None; loss.b.grad = None
        v.backward()
        opt.step()
        if t == 2:
            opt.update_lr(decay_factor=2.0); loss.update_smoothing(2.0)
        batches.append({"ids": [int(i) for i in ids], "labels": lst(y)})
        steps.append({"weight": lst(lin.weight), "bias": lst(lin.bias),
                      "att_weight": lst(att.weight), "att_bias": lst(att.bias),
                      "a": float(loss.a), "b": float(loss.b), "alpha": float(loss.alpha)})
    cases.append({"name": f"midam_opt_{mode}_{lr}_{mom}", "kind": "midam_opt", "mode": mode, "tau": tau, "lr": lr,
                  "momentum": mom, "weight_decay": wd, "bags": lst(BAGS), "inst": INST, "dim": D,
                  "w0": lst(W0), "b0": lst(B0), "batches": batches, "steps": steps,
                  "note": "update_lr(2) and update_smoothing(2) after step 3"})

# Entropic loss: logits with the own class at -inf; repeated ids across calls; SOX gamma schedule.
N_S, K = 12, 5
for is_scent, kw in [(True, dict(alpha=10.0)), (True, dict(alpha=2.0, alpha_multiplier=0.5)), (False, dict(gamma=0.9)),
                     (False, dict(gamma=0.3))]:
    loss = EntLossClassification(data_size=N_S, is_scent=is_scent, **kw)
    calls = []
    for c in range(4):
        if not is_scent:
            loss.adjust_gamma(c + 1, 5)  # epoch 0 gives γ = 1 and LibAUC fails on log(1 − γ)
        ids = rng.choice(N_S, 4, replace=False)
        own = rng.integers(0, K, size=4)
        lg = rng.normal(size=(4, K)).astype(np.float32)
        lg[np.arange(4), own] = -np.inf
        lt = T(lg, requires_grad=True)
        v = loss(lt, torch.tensor(ids))["loss"]
        v.backward()
        calls.append({"logits": [None if not np.isfinite(x) else float(x) for x in lg.ravel()], "ids": [int(i) for i in ids],
                      "gamma": float(loss.gamma), "loss": float(v.detach()), "grad": lst(lt.grad), "nu": lst(loss.nu)})
    cases.append({"name": f"ent_{'scent' if is_scent else 'sox'}_{len(cases)}", "kind": "ent_loss", "is_scent": is_scent,
                  "data_size": N_S, "k": K, "alpha": kw.get("alpha", 10.0), "gamma": kw.get("gamma", 0.9),
                  "alpha_multiplier": kw.get("alpha_multiplier", 1.0), "calls": calls})

# SCENT optimizer: a bias-free linear classifier W (K x D); each step scores a batch against the
# batch's own classes only, so rows of other classes get no gradient.
KC, DC = 8, 3
XC = rng.normal(size=(16, DC)).astype(np.float32)
YC = rng.integers(0, KC, size=16)
WC0 = (rng.normal(size=(KC, DC)) * 0.3).astype(np.float32)
for mom, damp, nest, wd in [(0.9, 0.0, False, 1e-3), (0.5, 0.1, False, 0.0), (0.9, 0.0, True, 1e-3)]:
    W = torch.nn.Parameter(T(WC0))
    loss = EntLossClassification(data_size=16)
    opt = SCENT([W], lr=0.1, momentum=mom, dampening=damp, nesterov=nest, weight_decay=wd)
    steps, batches = [], []
    for t in range(5):
        ids = rng.choice(16, 4, replace=False)
        classes = sorted(set(int(YC[i]) for i in ids) | {int(rng.integers(0, KC))})
        while len(classes) < 2:
            classes = sorted(set(classes) | {int(rng.integers(0, KC))})
        x = T(XC[ids])
        sc = x @ W[classes].T  # (4, |classes|)
        own = torch.tensor([classes.index(int(YC[i])) for i in ids])
        lg = sc - sc.gather(1, own[:, None])
        mask = torch.zeros_like(lg, dtype=torch.bool)
        mask[torch.arange(4), own] = True
        lg = lg.masked_fill(mask, -float("inf"))
        v = loss(lg, torch.tensor(ids))["loss"]
        opt.zero_grad(); v.backward(); opt.step()
        batches.append({"ids": [int(i) for i in ids], "classes": classes})
        steps.append({"w": lst(W)})
    cases.append({"name": f"scent_opt_{mom}_{damp}_{nest}_{wd}", "kind": "scent_opt", "momentum": mom, "dampening": damp,
                  "nesterov": nest, "weight_decay": wd, "lr": 0.1, "x": lst(XC), "y": [int(v) for v in YC], "k": KC,
                  "dim": DC, "w0": lst(WC0), "batches": batches, "steps": steps})

# Multi-label pAUC (one-way, KL-DRO backend): per-task state, task subsets as a TriSampler gives.
TM, NM, BM = 3, 20, 8
LM = (rng.random((NM, TM)) < 0.4).astype(np.float32)
for g, lam in [(0.9, 1.0), (0.5, 0.5)]:
    loss = MultiLabelpAUCLoss(mode="1w", num_labels=TM, data_len=NM, gamma=g, Lambda=lam, margin=1.0, device=dev)
    calls = []
    for ts in [[], [0, 2, 2], [1], [0, 1, 2]]:
        while True:
            ids = rng.choice(NM, BM, replace=False)
            y = LM[ids]
            if all(0 < y[:, t].sum() < BM for t in (ts or range(TM))):
                break
        s_ = rng.random((BM, TM)).astype(np.float32)
        st = T(s_, requires_grad=True)
        v = loss(st, T(y), torch.tensor(ids), task_id=torch.tensor(ts, dtype=torch.long) if ts else [])
        v.backward()
        calls.append({"scores": lst(s_), "labels": lst(y), "ids": [int(i) for i in ids], "tasks": ts,
                      "loss": float(v.detach()), "grad": lst(st.grad), "u": lst(loss.u_pos_all)})
    cases.append({"name": f"mpauc_1w_{g}_{lam}", "kind": "mpauc", "gamma": g, "lambda": lam, "n_tasks": TM,
                  "data_len": NM, "calls": calls})

# Multi-label PESG: a linear 4 -> 3 scorer with sigmoid outputs, MultiLabelAUCMLoss v1 (its margin
# bug changes only the loss value, not the gradients; the alpha step reads loss.margin), epoch_decay 0.
XM = rng.normal(size=(NM, 4)).astype(np.float32)
WM0 = (rng.normal(size=(TM, 4)) * 0.5).astype(np.float32)
for lr, mom in [(0.1, 0.9), (0.05, 0.5)]:
    lin = torch.nn.Linear(4, TM)
    with torch.no_grad():
        lin.weight.copy_(T(WM0)); lin.bias.fill_(0.1)
    loss = MultiLabelAUCMLoss(margin=1.0, version="v1", num_labels=TM, device=dev)
    run.cast(loss, "a", "b", "alpha")
    with contextlib.redirect_stdout(io.StringIO()):
        opt = PESG(lin.parameters(), loss_fn=loss, lr=lr, momentum=mom, epoch_decay=0.0, device=dev)
    steps, batches = [], []
    for t in range(5):
        while True:
            ids = rng.choice(NM, BM, replace=False)
            if all(0 < LM[ids][:, k].sum() < BM for k in range(TM)):
                break
        ts = sorted(set(int(v) for v in rng.choice(TM, 2)))
        v = loss(torch.sigmoid(lin(T(XM[ids]))), T(LM[ids]), task_id=torch.tensor(ts))
        opt.zero_grad(); v.backward(); opt.step()
        batches.append({"ids": [int(i) for i in ids], "tasks": ts})
        steps.append({"weight": lst(lin.weight), "bias": lst(lin.bias), "a": lst(loss.a), "b": lst(loss.b),
                      "alpha": lst(loss.alpha)})
    cases.append({"name": f"multilabel_pesg_{lr}_{mom}", "kind": "multilabel_pesg", "lr": lr, "momentum": mom,
                  "x": lst(XM), "labels": lst(LM), "n_tasks": TM, "w0": lst(WM0), "b0": 0.1, "batches": batches,
                  "steps": steps, "note": "LibAUC's defaults otherwise: clip 1.0, weight decay 1e-5, its momentum form"})

run.write({"generator": "conformance/gen_mil_xc.py", "cases": cases})
print(f"wrote {len(cases)} MIDAM / entropic cases to {run.path}", file=sys.stderr)
