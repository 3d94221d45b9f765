"""The `xrisk demo` protocol in xrisk and in LibAUC 2.0.1 / PyTorch (CPU), 3 seeds each, in one
run on this machine; writes both tables into BENCHMARKS.md. Run through bench/demo_side_by_side.sh.

Same data and split (xrisk exports the task it trains on with `xrisk demo --export`), same model
(MLP 784-128-1, ReLU), same losses, optimizers and hyper-parameters, same samplers (LibAUC's
DualSampler; shuffled batches for CE), same schedule (lr / 10 at 50 % and 75 % of the epochs;
PESG also refreshes its reference point), same threads. Differences that remain: the initial
weights (burn's and PyTorch's default initialisers draw from different generators), the sampler
shuffles (ChaCha vs NumPy), and LibAUC's reference point starting at N(0, 0.01^2) noise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import libauc
from libauc.losses import AUCMLoss, APLoss, pAUC_DRO_Loss, CrossEntropyLoss
from libauc.optimizers import PESG, SOAP, SOPAs, Adam
from libauc.sampler import DualSampler
from sklearn.metrics import roc_auc_score, average_precision_score

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--seeds", default="2023,2024,2025")
ap.add_argument("--epochs", type=int, default=20)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--out", default="BENCHMARKS.md")
args = ap.parse_args()
torch.set_num_threads(args.threads)
METHODS = ["CE (Adam)", "AUCM + PESG", "AP + SOAP", "pAUC-DRO + SOPA-s"]


class Data(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = torch.tensor(x), torch.tensor(y)
        self.targets = y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i], i


def load(d, part, dim):
    x = np.fromfile(os.path.join(d, f"{part}_x.f32"), dtype="<f4").reshape(-1, dim)
    y = np.fromfile(os.path.join(d, f"{part}_y.f32"), dtype="<f4")
    return x, y


def libauc_run(method, seed, xtr, ytr, xte, yte, epochs, batch):
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(xtr.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
    ds = Data(xtr, ytr)
    n = len(ytr)
    if method == "CE (Adam)":
        loss_fn, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3, verbose=False)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True,
                                             generator=torch.Generator().manual_seed(seed))
    else:
        rate = 0.2 if method == "AUCM + PESG" else 0.5
        sampler = DualSampler(ds, batch, labels=ytr, sampling_rate=rate, random_seed=seed)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, sampler=sampler, shuffle=False)
        if method == "AUCM + PESG":
            loss_fn = AUCMLoss(margin=1.0, version="v1", device="cpu")
            opt = PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, momentum=0.9, weight_decay=1e-5, epoch_decay=2e-3,
                       verbose=False, device="cpu")
        elif method == "AP + SOAP":
            loss_fn = APLoss(data_len=n, gamma=0.1, margin=1.0, device="cpu")
            opt = SOAP(model.parameters(), lr=1e-3, mode="adam", verbose=False, device="cpu")
        else:
            loss_fn = pAUC_DRO_Loss(data_len=n, gamma=0.1, margin=0.6, Lambda=1.0, device="cpu")
            opt = SOPAs(model.parameters(), lr=1e-3, mode="adam", verbose=False, device="cpu")
    decay = {epochs // 2, epochs * 3 // 4} - {0}
    seconds = 0.0
    for epoch in range(epochs):
        t = time.perf_counter()
        if epoch in decay:
            if method == "AUCM + PESG":
                opt.update_regularizer(decay_factor=10)
            else:
                opt.update_lr(decay_factor=10)
        model.train()
        for x, y, idx in loader:
            z = model(x).reshape(-1)
            if method == "CE (Adam)":
                loss = loss_fn(z, y)
            elif method == "AUCM + PESG":
                loss = loss_fn(torch.sigmoid(z), y)
            else:
                loss = loss_fn(torch.sigmoid(z), y, idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t
    model.eval()
    with torch.no_grad():
        s = model(torch.tensor(xte)).reshape(-1).numpy().astype(np.float64)
    return {"auroc": roc_auc_score(yte, s), "auprc": average_precision_score(yte, s),
            "pauc_fpr_0.3": roc_auc_score(yte, s, max_fpr=0.3), "seconds_per_epoch": seconds / epochs}


results = {"xrisk": {m: [] for m in METHODS}, "LibAUC": {m: [] for m in METHODS}}
meta = None
with tempfile.TemporaryDirectory() as tmp:
    for seed in [int(s) for s in args.seeds.split(",")]:
        d = os.path.join(tmp, str(seed))
        out = subprocess.run([args.xrisk, "demo", "--protocol", "scratch", "--seed", str(seed), "--epochs", str(args.epochs), "--json",
                              "--out", os.path.join(d, "report"), "--export", d],
                             check=True, capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": str(args.threads)})
        for row in json.loads(out.stdout):
            results["xrisk"][row["method"]].append(row)
        meta = json.load(open(os.path.join(d, "meta.json")))
        xtr, ytr = load(d, "train", meta["dim"])
        xte, yte = load(d, "test", meta["dim"])
        for m in METHODS:
            r = libauc_run(m, seed, xtr, ytr, xte, yte, args.epochs, meta["batch_size"])
            results["LibAUC"][m].append(r)
            x = results["xrisk"][m][-1]
            print(f"seed {seed} {m:18s} xrisk AUROC {x['auroc']:.4f} AUPRC {x['auprc']:.4f} | "
                  f"LibAUC AUROC {r['auroc']:.4f} AUPRC {r['auprc']:.4f}", file=sys.stderr)


def ms(vals):
    return f"{100 * np.mean(vals):.2f} ± {100 * np.std(vals):.2f}"


lines = ["<!-- demo:start (written by bench/demo_side_by_side.sh; do not edit by hand) -->",
         f"Measured {time.strftime('%Y-%m-%d')}: `xrisk demo` protocol (Fashion-MNIST t10k, class {meta['positive_class']} vs rest "
         f"at {100 * meta['imratio']:.0f} % positives, train {meta['train']} / test {meta['test']}, MLP 784-128-1, "
         f"{args.epochs} epochs, batch {meta['batch_size']}), seeds {args.seeds}, {args.threads} threads each side, "
         f"LibAUC {getattr(libauc, '__version__', '2.0.1')} on PyTorch {torch.__version__} (CPU). Metrics in points "
         "(× 100), mean ± std over the seeds; Δ = xrisk − LibAUC.",
         "",
         "| method | side | AUROC | AUPRC | pAUC(FPR≤0.3) | s/epoch |",
         "|---|---|---:|---:|---:|---:|"]
for m in METHODS:
    for side in ["xrisk", "LibAUC"]:
        rs = results[side][m]
        lines.append(f"| {m} | {side} | {ms([r['auroc'] for r in rs])} | {ms([r['auprc'] for r in rs])} | "
                     f"{ms([r['pauc_fpr_0.3'] for r in rs])} | {np.mean([r['seconds_per_epoch'] for r in rs]):.3f} |")
    dx = lambda k: 100 * (np.mean([r[k] for r in results['xrisk'][m]]) - np.mean([r[k] for r in results['LibAUC'][m]]))
    lines.append(f"| {m} | Δ | {dx('auroc'):+.2f} | {dx('auprc'):+.2f} | {dx('pauc_fpr_0.3'):+.2f} | |")
over = []
for m in METHODS:
    for k, label in [("auroc", "AUROC"), ("auprc", "AUPRC"), ("pauc_fpr_0.3", "pAUC")]:
        xs = [100 * r[k] for r in results["xrisk"][m]]
        ls = [100 * r[k] for r in results["LibAUC"][m]]
        d = np.mean(xs) - np.mean(ls)
        if abs(d) > 1.5:
            over.append(f"{m} {label} (Δ {d:+.2f}; seed std xrisk {np.std(xs):.2f}, LibAUC {np.std(ls):.2f})")
lines.append("")
if over:
    lines.append("Differences above 1.5 points: " + "; ".join(over) + ". Both sides train the same algorithm on the same "
                 "split; they differ in the initial weights, the sampler shuffles and LibAUC's noisy reference point, so a "
                 "difference smaller than the spread over seeds is not a difference between the implementations.")
else:
    lines.append("Every mean differs by at most 1.5 points.")
speed = [np.mean([r["seconds_per_epoch"] for r in results["LibAUC"][m]]) / np.mean([r["seconds_per_epoch"] for r in results["xrisk"][m]])
         for m in METHODS]
lines.append("Training speed, LibAUC s/epoch ÷ xrisk s/epoch: " + ", ".join(f"{m} {v:.1f}×" for m, v in zip(METHODS, speed)) + ".")
lines.append("<!-- demo:end -->")
block = "\n".join(lines)
text = open(args.out).read()
start, end = text.find("<!-- demo:start"), text.find("<!-- demo:end -->")
if start < 0 or end < 0:
    text = text.rstrip() + "\n\n## `xrisk demo` side by side with LibAUC\n\nScript: `bench/demo_side_by_side.sh`.\n\n" + block + "\n"
else:
    text = text[:start] + block + text[end + len("<!-- demo:end -->"):]
open(args.out, "w").write(text)
print(block)
