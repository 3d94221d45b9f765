"""Many-class side by side (issue 7): the compositional entropic loss with SCENT and with SOX,
xrisk against LibAUC 2.0.1 (EntLossClassification + its SCENT optimizer), on UCI Letter
Recognition (26 classes) and on synthetic data with 10,000 classes, plus the full-softmax
cross-entropy for scale. Same protocol on both sides: a seeded random 70/30 split (written to
CSV files that both sides read), features standardised on the training rows, a class matrix
W [K, d] on an encoder (Letter: ReLU MLP [128]; synthetic: linear), batches of shuffled rows
scored against their own labels (+ `num_neg` random classes on the synthetic set), the SCENT
optimizer (momentum 0.9) for every method, lr ÷10 at 50 % and 75 % of the epochs, SOX's γ on
LibAUC's cosine schedule (LibAUC's `adjust_gamma(0, E)` sets γ = 1 and then fails on
log(1 − γ); the Python side uses γ = 1 − 1e-6 at epoch 0). Letter: 20 epochs, batch 64,
lr 0.005 (the largest of 0.1, 0.01, 0.005 at which SCENT's training loss stays finite);
synthetic: 10,000 classes × 10 rows, 32 features, noise 0.5, 5 epochs, batch 256 + 256 random
classes, lr 0.1. Test top-1 accuracy after the last epoch; 3 seeds. Writes the table between
the xc markers of BENCHMARKS.md.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from libauc.losses.xc import EntLossClassification
from libauc.optimizers.scent import SCENT
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fmt, write_block  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--letter", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="0,1,2")
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
SEEDS = [int(s) for s in args.seeds.split(",")]
torch.set_num_threads(args.threads)

SETS = {
    "letter": dict(hidden=[128], epochs=20, batch=64, lr=0.005, num_neg=0),
    "synthetic": dict(hidden=[], epochs=5, batch=256, lr=0.1, num_neg=256),
}
METHODS = [("SCENT", "entropic", "scent"), ("SOX", "entropic", "sox"), ("softmax CE", "softmax_ce", None)]


def letter_data():
    rows = [l.strip().split(",") for l in open(args.letter) if l.strip()]
    y = np.array([ord(r[0]) - ord("A") for r in rows])
    x = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
    return x, y


def synthetic_data(seed):
    rng = np.random.default_rng(1000 + seed)
    k, per, d = 10_000, 10, 32
    mu = rng.normal(size=(k, d))
    x = (np.repeat(mu, per, axis=0) + 0.5 * rng.normal(size=(k * per, d))).astype(np.float32)
    return x, np.repeat(np.arange(k), per)


def write(x, y, path):
    with open(path, "w") as fh:
        fh.write(",".join([f"f{i}" for i in range(x.shape[1])] + ["label"]) + "\n")
        for r, l in zip(x, y):
            fh.write(",".join(f"{v:.6g}" for v in r) + f",{l}\n")


def xrisk_run(tr, te, s, kind, est, seed, work):
    loss = f'kind = "{kind}"' + (f'\nestimator = "{est}"' if est else "")
    model = 'kind = "mlp"\nhidden = [128]' if s["hidden"] else 'kind = "linear"'
    cfg = f"""[data]
format = "csv"
train = "{tr}"
test = "{te}"
label_column = "label"
normalize = "standard"
[model]
{model}
[loss]
{loss}
[optimizer]
kind = "scent"
lr = {s["lr"]}
momentum = 0.9
[sampler]
batch_size = {s["batch"]}
num_neg = {s["num_neg"]}
[train]
epochs = {s["epochs"]}
seed = {seed}
threads = {args.threads}
"""
    path = os.path.join(work, "xc.toml")
    open(path, "w").write(cfg)
    out = os.path.join(work, f"xc_{kind}_{est}_{seed}_{time.time_ns()}")
    p = subprocess.run([args.xrisk, "train", "--config", path, "--json", "--out", out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, None, p.stderr.strip().splitlines()[-1]
    top1 = json.loads(p.stdout.strip().splitlines()[-1])["test"]["top1"]
    secs = [json.loads(l)["seconds"] for l in open(os.path.join(out, "timing.jsonl"))]
    return top1, statistics.mean(secs), None


def torch_run(xtr, ytr, xte, yte, s, kind, est, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    k = int(max(ytr.max(), yte.max())) + 1
    enc = torch.nn.Sequential(torch.nn.Linear(xtr.shape[1], 128), torch.nn.ReLU()) if s["hidden"] else torch.nn.Identity()
    d = 128 if s["hidden"] else xtr.shape[1]
    W = torch.nn.Parameter(torch.randn(k, d) / d ** 0.5)
    params = list(enc.parameters()) + [W]
    opt = SCENT(params, lr=s["lr"], momentum=0.9)
    loss_fn = EntLossClassification(data_size=len(ytr), is_scent=(est == "scent")) if kind == "entropic" else None
    X, Y = torch.tensor(xtr), torch.tensor(ytr)
    decay = [s["epochs"] // 2, s["epochs"] * 3 // 4]
    secs = []
    for epoch in range(s["epochs"]):
        if epoch in decay:
            for g in opt.param_groups:
                g["lr"] /= 10
        if loss_fn is not None and est == "sox":
            with contextlib.redirect_stdout(io.StringIO()):
                loss_fn.adjust_gamma(epoch, s["epochs"])
            loss_fn.gamma = min(float(loss_fn.gamma), 1 - 1e-6)
        t0 = time.perf_counter()
        perm = rng.permutation(len(ytr))
        for i in range(0, len(ytr) - s["batch"] + 1, s["batch"]):
            ids = perm[i:i + s["batch"]]
            e = enc(X[ids])
            y = Y[ids]
            if loss_fn is None:
                loss = torch.nn.functional.cross_entropy(e @ W.T, y)
            else:
                classes = np.unique(np.concatenate([y.numpy(), rng.choice(k, s["num_neg"], replace=False)])
                                    if s["num_neg"] else y.numpy())
                if len(classes) < 2:
                    classes = np.unique(np.append(classes, (classes[0] + 1) % k))
                ct = torch.tensor(classes)
                sc = e @ W[ct].T
                own = torch.searchsorted(ct, y)
                lg = sc - sc.gather(1, own[:, None])
                mask = torch.zeros_like(lg, dtype=torch.bool)
                mask[torch.arange(len(ids)), own] = True
                loss = loss_fn(lg.masked_fill(mask, -float("inf")), torch.tensor(ids))["loss"]
            opt.zero_grad(); loss.backward(); opt.step()
            if not torch.isfinite(loss):
                return None, None, f"epoch {epoch + 1}: the loss is {float(loss)}"
        secs.append(time.perf_counter() - t0)
    with torch.no_grad():
        pred = (enc(torch.tensor(xte)) @ W.T).argmax(1).numpy()
    return float((pred == yte).mean()), statistics.mean(secs), None




res = {}
with tempfile.TemporaryDirectory() as work:
    for name, s in SETS.items():
        for seed in SEEDS:
            x, y = letter_data() if name == "letter" else synthetic_data(seed)
            perm = np.random.default_rng(seed).permutation(len(y))
            n_te = round(0.3 * len(y))
            te, tr = perm[:n_te], perm[n_te:]
            mu, sd = x[tr].mean(0), x[tr].std(0)
            sd[sd == 0] = 1
            trp, tep = os.path.join(work, f"{name}{seed}tr.csv"), os.path.join(work, f"{name}{seed}te.csv")
            write(x[tr], y[tr], trp); write(x[te], y[te], tep)
            xtr, xte = (x[tr] - mu) / sd, (x[te] - mu) / sd
            for label, kind, est in METHODS:
                res.setdefault((name, label, "xrisk"), []).append(xrisk_run(trp, tep, s, kind, est, seed, work))
                res.setdefault((name, label, "LibAUC 2.0.1"), []).append(
                    torch_run(xtr, y[tr], xte, y[te], s, kind, est, seed))
                print(name, seed, label, res[(name, label, "xrisk")][-1], res[(name, label, "LibAUC 2.0.1")][-1],
                      file=sys.stderr, flush=True)

rows = []
for name in SETS:
    title = "Letter (20,000 rows, 16 features, 26 classes)" if name == "letter" else \
        "synthetic (100,000 rows, 32 features, 10,000 classes)"
    for label, kind, _ in METHODS:
        for impl in ("xrisk", "LibAUC 2.0.1"):
            r = res[(name, label, impl)]
            impl_name = impl if kind == "entropic" else ("xrisk" if impl == "xrisk" else "PyTorch")
            secs = [t for _, t, _ in r if t is not None]
            errs = sorted({e for *_, e in r if e})
            rows.append(f"| {title} | {label} | {impl_name} | {fmt([a for a, _, _ in r])} | "
                        f"{statistics.mean(secs):.3f} |" if secs else
                        f"| {title} | {label} | {impl_name} | diverged ({'; '.join(errs)}) | — |")
table = "\n".join([
    f"Test top-1 accuracy after the last epoch, mean ± std over seeds {args.seeds}; {args.threads} threads; "
    "s/epoch = mean training time per epoch. Protocol in bench/xc.py's docstring.",
    "",
    "| data set | method | implementation | test top-1 | s/epoch |",
    "|---|---|---|---|---|",
] + rows)
print(table)
write_block(args.out, "xc", "bench/xc.sh", "Many-class classification (SCENT vs SOX)", table)
