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
from libauc.losses import AUCMLoss, APLoss, pAUC_DRO_Loss, CrossEntropyLoss

out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
rng = np.random.default_rng(11282026)
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
        p_ids = rng.choice(pos, k, replace=duplicates and len(pos) < k or duplicates)
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
    a, b, al = abal
    with torch.no_grad():
        loss.a.fill_(a); loss.b.fill_(b); loss.alpha.fill_(al)
    rec = []
    for ids, y, s in calls:
        st = torch.tensor(s, requires_grad=True)
        loss.a.grad = None; loss.b.grad = None
        v = loss(st, torch.tensor(y))
        v.backward()
        rec.append({"ids": [int(i) for i in ids], "labels": lst(y), "scores": lst(s), "loss": float(v),
                    "grad": lst(st.grad), "grad_a": float(loss.a.grad), "grad_b": float(loss.b.grad)})
    c = {"name": name, "loss": "aucm", "version": version, "margin": margin, "a": a, "b": b, "alpha": al, "calls": rec}
    if note:
        c["note"] = note
    cases.append(c)


def stateful_case(name, kind, cfg, n_data, labels, calls):
    if kind == "ap":
        loss = APLoss(data_len=n_data, gamma=cfg["gamma"], margin=cfg["margin"], device=dev)
    else:
        loss = pAUC_DRO_Loss(data_len=n_data, gamma=cfg["gamma"], margin=cfg["margin"], Lambda=cfg["lambda"], device=dev)
    rec = []
    for ids, y, s in calls:
        st = torch.tensor(s, requires_grad=True)
        v = loss(st, torch.tensor(y), torch.tensor(ids))
        v.backward()
        r = {"ids": [int(i) for i in ids], "labels": lst(y), "scores": lst(s), "loss": float(v), "grad": lst(st.grad)}
        if kind == "ap":
            r["u_all"] = lst(loss.u_all); r["u_pos"] = lst(loss.u_pos)
        else:
            r["u"] = lst(loss.u_pos)
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

ce = CrossEntropyLoss()
for i in range(3):
    rec = []
    for _ in range(3):
        z = (rng.normal(size=9) * 3).astype(np.float32)
        y = (rng.random(9) < 0.4).astype(np.float32)
        zt = torch.tensor(z, requires_grad=True)
        v = ce(zt, torch.tensor(y))
        v.backward()
        rec.append({"labels": lst(y), "scores": lst(z), "loss": float(v), "grad": lst(zt.grad)})
    cases.append({"name": f"ce_{i}", "loss": "ce", "calls": rec})

with open(os.path.join(out_dir, "vectors", "losses.json"), "w") as fh:
    json.dump({"generator": "conformance/gen_losses.py", "torch": torch.__version__, "cases": cases}, fh, indent=1)
print(f"wrote {len(cases)} loss cases", file=sys.stderr)
