"""Conformance vectors for the global contrastive losses (LibAUC 2.0.1 GCLoss_v1, unimodal, and
GCLoss_v2, bimodal: SogCLR and iSogCLR paths); writes vectors/contrastive.json, read by crates/xrisk/tests/conformance_contrastive.rs.

Each case is a fixed sequence of calls on one loss object (sample ids repeat across calls,
distinct within a call), with `adjust_gamma(epoch)` where a call says so; every call records
the loss value, the gradients w.r.t. both views' features, and the whole state after the call
(u; for iSogCLR the temperatures and their gradient averages).
"""
import contextlib
import io
import json
import os
import sys

import numpy as np
import torch
from libauc.losses import GCLoss_v1, GCLoss_v2
from peer import Run

run = Run(47, "contrastive.json")
rng = run.rng
N, B, D = 12, 6, 5


def lst(a):
    a = a.detach().numpy() if torch.is_tensor(a) else a
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


CASES = [
    ("sogclr constant", dict(tau=0.1, gamma=0.9), [None] * 4),
    ("sogclr constant with epochs", dict(tau=0.5, gamma=0.5), [0, None, 1, None]),
    ("sogclr cosine", dict(tau=0.2, gamma=0.2, gamma_schedule="cosine", gamma_decay_epochs=3), [0, 1, 2, 3]),
    ("isogclr", dict(tau=0.1, gamma=0.9, enable_isogclr=True, rho=0.3, eta=0.05, beta=0.9), [None] * 4),
    ("isogclr clipped", dict(tau=0.3, gamma=0.7, enable_isogclr=True, tau_min=0.1, tau_max=0.35, rho=0.8, eta=0.5,
                             beta=0.5), [None] * 4),
]
def features(unit):
    x = rng.normal(size=(B, D)).astype(np.float32)
    if unit:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return run.T(x, requires_grad=True)


def replay(name, kw, epochs, make, bimodal):
    """One case: the calls on the loss `make()` builds, each with its value, both views'
    gradients and the state after it (bimodal features are L2-normalised, as GCLoss_v2 expects)."""
    with contextlib.redirect_stdout(io.StringIO()):
        loss = make()
    calls = []
    for epoch in epochs:
        if epoch is not None:
            with contextlib.redirect_stdout(io.StringIO()):
                loss.adjust_gamma(epoch)
        ids = rng.choice(N, B, replace=False)
        h1, h2 = features(bimodal), features(bimodal)
        v = loss(h1, h2, torch.tensor(ids))
        v = v[0] if bimodal else v
        v.backward()
        call = {"epoch": epoch, "ids": [int(i) for i in ids], "h1": lst(h1), "h2": lst(h2), "loss": float(v.detach()),
                "grad_h1": lst(h1.grad), "grad_h2": lst(h2.grad)}
        if bimodal:
            call.update(u1=lst(loss.u1), u2=lst(loss.u2), b1=lst(loss.b1), b2=lst(loss.b2))
            if kw.get("enable_isogclr"):
                call.update(tau_img=lst(loss.learnable_tau_img), tau_txt=lst(loss.learnable_tau_txt),
                            grad_tau_img=lst(loss.grad_tau_img), grad_tau_txt=lst(loss.grad_tau_txt))
        else:
            call["u"] = lst(loss.u)
            if kw.get("enable_isogclr"):
                call.update(tau=lst(loss.learnable_tau), grad_tau=lst(loss.grad_tau))
        calls.append(call)
    case = {"name": name, "config": kw, "n": N, "batch": B, "dim": D, "calls": calls}
    if bimodal:
        case = {"name": name, "mode": "bimodal", **{k: v for k, v in case.items() if k != "name"}}
    return case


BIMODAL = [
    ("bimodal constant", dict(tau=0.05, gamma=0.9), [None] * 4),
    ("bimodal small tau cosine", dict(tau=0.01, gamma=0.3, gamma_schedule="cosine", gamma_decay_epochs=2), [0, 1, 2, 3]),
    ("bimodal isogclr", dict(tau=0.03, gamma=0.8, enable_isogclr=True, tau_min=0.005, tau_max=0.05, rho=6.0, eta=0.01,
                             beta=0.9), [None] * 4),
    ("bimodal isogclr clipped", dict(tau=0.02, gamma=0.6, enable_isogclr=True, tau_min=0.015, tau_max=0.025, rho=2.0,
                                     eta=0.05, beta=0.5), [0, None, 1, None]),
]
cases = [replay(name, kw, epochs, lambda: GCLoss_v1(N=N, device=torch.device("cpu"), **kw), False)
         for name, kw, epochs in CASES]
cases += [replay(name, kw, epochs, lambda: GCLoss_v2(N=N, **kw), True) for name, kw, epochs in BIMODAL]

# Large batches: 150 samples, so the unimodal kernel's vector row loops (blocks of 64 columns)
# run, not only their scalar tails. Appended after every other draw.
B, N, D = 150, 400, 8
LARGE = [("sogclr large batch", dict(tau=0.1, gamma=0.9), [None] * 2),
         ("isogclr large batch", dict(tau=0.1, gamma=0.7, enable_isogclr=True, rho=0.3, eta=0.05, beta=0.9), [None] * 2)]
cases += [replay(name, kw, epochs, lambda: GCLoss_v1(N=N, device=torch.device("cpu"), **kw), False)
          for name, kw, epochs in LARGE]

run.write({"generator": "conformance/gen_contrastive.py", "cases": cases})
print(f"{len(cases)} contrastive cases to {run.path}")
