"""Conformance vectors for the multi-label losses (MultiLabelAUCMLoss, meanAveragePrecisionLoss)
from LibAUC 2.0.1; writes vectors/losses_multilabel.json, read by
crates/xrisk/tests/conformance_losses.rs. Scores (B, T) are probabilities; each call may name a
subset of tasks (as TriSampler's task ids). v1 of MultiLabelAUCMLoss drops the margin from its
cross term in 2.0.1 (spec §11 #3): its reference is LibAUC's single-task AUCMLoss (which has the
margin) on each task, averaged — the case carries a note.
"""
import json
import os
import sys

import numpy as np
import torch
from libauc.losses import AUCMLoss, MultiLabelAUCMLoss, meanAveragePrecisionLoss
from peer import Run

run = Run(77, "losses_multilabel.json")
rng, T_ = run.rng, run.T
dev = torch.device("cpu")
T, B, N = 4, 12, 40
LABELS = (rng.random((N, T)) < 0.35).astype(np.float32)


def lst(a):
    a = a.detach().numpy() if torch.is_tensor(a) else a
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def batch(tasks):
    """B distinct ids whose labels have both classes in every chosen task."""
    while True:
        ids = rng.choice(N, B, replace=False)
        y = LABELS[ids]
        if all(0 < y[:, t].sum() < B for t in tasks):
            return ids, y, rng.random((B, T)).astype(np.float32)


cases = []
TASK_SETS = [[], [0, 2, 2], [3], [1, 2, 3]]


def chosen(ts):
    return sorted(set(ts)) if ts else list(range(T))


for version in ["v1", "v2"]:
    for i, (m, seed_vals) in enumerate([(1.0, 0), (0.6, 1), (0.8, 2)]):
        a = rng.random(T).astype(np.float32) * 0.5
        b = rng.random(T).astype(np.float32) * 0.5
        al = rng.random(T).astype(np.float32)
        calls = []
        if version == "v2":
            loss = MultiLabelAUCMLoss(margin=m, version="v2", num_labels=T, device=dev)
            run.cast(loss, "a", "b", "alpha")
            with torch.no_grad():
                loss.a.copy_(T_(a)); loss.b.copy_(T_(b)); loss.alpha.copy_(T_(al))
        for ts in TASK_SETS[: 3]:
            ids, y, s = batch(chosen(ts))
            st = T_(s, requires_grad=True)
            if version == "v2":
                v = loss(st, T_(y), task_id=torch.tensor(ts, dtype=torch.long) if ts else [])
            else:
                total = 0
                for t in chosen(ts):
                    single = AUCMLoss(margin=m, version="v1", device=dev)
                    run.cast(single, "a", "b", "alpha")
                    with torch.no_grad():
                        single.a.fill_(float(a[t])); single.b.fill_(float(b[t])); single.alpha.fill_(float(al[t]))
                    total = total + single(st[:, t], T_(y[:, t]))
                v = total / len(chosen(ts))
            v.backward()
            calls.append({"scores": lst(s), "labels": lst(y), "ids": [int(x) for x in ids], "tasks": ts,
                          "loss": float(v.detach()), "grad": lst(st.grad)})
        c = {"name": f"multilabel_aucm_{version}_{i}", "loss": "multilabel_aucm", "version": version, "margin": m,
             "n_tasks": T, "a": lst(a), "b": lst(b), "alpha": lst(al), "calls": calls}
        if version == "v1":
            c["note"] = "LibAUC 2.0.1's multi-label v1 drops the margin from p(1-p)m; reference = its AUCMLoss per task"
        cases.append(c)

for i, (g, m, k) in enumerate([(0.9, 1.0, -1), (0.1, 0.6, -1), (0.5, 1.0, 3)]):
    loss = meanAveragePrecisionLoss(data_len=N, num_labels=T, margin=m, gamma=g, top_k=k, device=dev)
    calls = []
    for ts in TASK_SETS:
        ids, y, s = batch(chosen(ts))
        st = T_(s, requires_grad=True)
        v = loss(st, T_(y), torch.tensor(ids), task_id=torch.tensor(ts, dtype=torch.long) if ts else [])
        v.backward()
        calls.append({"scores": lst(s), "labels": lst(y), "ids": [int(x) for x in ids], "tasks": ts,
                      "loss": float(v.detach()), "grad": lst(st.grad),
                      "u_all": lst(loss.u_all), "u_pos": lst(loss.u_pos)})
    cases.append({"name": f"map_{i}", "loss": "map", "gamma": g, "margin": m, "top_k": k, "data_len": N, "n_tasks": T,
                  "calls": calls})

run.write({"generator": "conformance/gen_losses_multilabel.py", "cases": cases})
print(f"wrote {len(cases)} multi-label loss cases to {run.path}", file=sys.stderr)
