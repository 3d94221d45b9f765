"""MIL side by side (issue 7): MIDAM (attention and softmax pooling) and the pooled
cross-entropy baselines (mean and max pooling over all instances) on musk1, musk2 and elephant,
xrisk against LibAUC 2.0.1 / PyTorch with the same protocol: a stratified 70/30 bag split per
seed (written to CSV files that both sides read), features standardised on the training
instances, LibAUC's FFNN_stoc_att (hidden 16), 16 bags per batch, MIDAM with LibAUC's MIL
tutorial settings (DualSampler rate 0.5, 4 sampled instances per bag, lr 1e-2, momentum 0.1,
weight decay 1e-4, γ 0.9, margin 1, softmax τ 0.1), CE with Adam (lr 1e-3, weight decay 1e-4,
shuffled batches); 100 epochs, learning rate ÷10 (MIDAM also γ ÷2) at epochs 50 and 75; test
AUROC after the last epoch with the training pooling over all instances; 3 seeds.
Writes the table between the mil markers of BENCHMARKS.md.
"""
import argparse
import csv
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import libauc
from libauc.losses import MIDAMLoss
from libauc.optimizers import MIDAM
from sklearn.metrics import roc_auc_score
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fmt, write_block  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "libauc_mil_models", os.path.join(os.path.dirname(libauc.__file__), "models", "mil_models.py"))
_mm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mm)
FFNN_stoc_att = _mm.FFNN_stoc_att

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--mil-dir", required=True, help="folder with musk1.csv, musk2.csv, elephant.csv")
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="0,1,2")
ap.add_argument("--epochs", type=int, default=100)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--sets", default="musk1,musk2,elephant")
args = ap.parse_args()
SEEDS = [int(s) for s in args.seeds.split(",")]
torch.set_num_threads(args.threads)
BATCH, INST, HIDDEN = 16, 4, 16
DECAY = [args.epochs // 2, args.epochs * 3 // 4]
METHODS = [("MIDAM (attention)", "midam", "attention"), ("MIDAM (softmax)", "midam", "softmax"),
           ("CE (mean pooling)", "ce", "mean"), ("CE (max pooling)", "ce", "max")]


def read_bags(path):
    bags = {}
    for row in csv.reader(open(path)):
        label, bid, feats = float(row[0]), row[1], [float(v) for v in row[2:]]
        bags.setdefault(bid, [label, []])[1].append(feats)
    return [(bid, lab, np.array(x, dtype=np.float32)) for bid, (lab, x) in bags.items()]


def split(bags, seed):
    rng = np.random.default_rng(seed)
    test = set()
    for c in (0.0, 1.0):
        ids = [i for i, b in enumerate(bags) if b[1] == c]
        rng.shuffle(ids)
        test.update(ids[:round(0.3 * len(ids))])
    return [b for i, b in enumerate(bags) if i not in test], [b for i, b in enumerate(bags) if i in test]


def write_bags(bags, path):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        for bid, lab, x in bags:
            for row in x:
                w.writerow([int(lab), bid] + [repr(float(v)) for v in row])


def xrisk_run(train_csv, test_csv, kind, pooling, seed, workdir):
    if kind == "midam":
        loss = f'kind = "midam"\npooling = "{pooling}"\ngamma = 0.9\nmargin = 1.0' + ('\ntau = 0.1' if pooling == "softmax" else "")
        opt = 'kind = "midam"\nlr = 1e-2\nmomentum = 0.1\nweight_decay = 1e-4'
        sampler = f'batch_size = {BATCH}\nsampling_rate = 0.5\ninstances = {INST}'
    else:
        loss = f'kind = "ce"\npooling = "{pooling}"'
        opt = 'kind = "adam"\nlr = 1e-3\nweight_decay = 1e-4'
        sampler = f'kind = "random"\nbatch_size = {BATCH}'
    cfg = f"""[data]
format = "mil"
train = "{train_csv}"
test = "{test_csv}"
normalize = "standard"
[model]
kind = "ffnn_att"
hidden = [{HIDDEN}]
[loss]
{loss}
[optimizer]
{opt}
[sampler]
{sampler}
[train]
epochs = {args.epochs}
seed = {seed}
threads = {args.threads}
decay_epochs = {DECAY}
decay_factor = 10.0
"""
    path = os.path.join(workdir, "run.toml")
    open(path, "w").write(cfg)
    out = os.path.join(workdir, f"run_{kind}_{pooling}_{seed}_{time.time_ns()}")
    p = subprocess.run([args.xrisk, "train", "--config", path, "--json", "--out", out],
                       capture_output=True, text=True, check=True)
    auroc = json.loads(p.stdout.strip().splitlines()[-1])["test"]["auroc"]
    secs = [json.loads(l)["seconds"] for l in open(os.path.join(out, "timing.jsonl"))]
    return auroc, statistics.mean(secs)


def torch_run(train, test, kind, pooling, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    allx = np.concatenate([x for _, _, x in train])
    mu, sd = allx.mean(0), allx.std(0)
    sd[sd == 0] = 1.0
    tr = [(lab, torch.tensor((x - mu) / sd)) for _, lab, x in train]
    te = [(lab, torch.tensor((x - mu) / sd)) for _, lab, x in test]
    y = np.array([lab for lab, _ in tr])
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):  # the model prints "model initialized"
        model = FFNN_stoc_att(input_dim=allx.shape[1], hidden_sizes=(HIDDEN,), num_classes=1)
    if kind == "midam":
        loss_fn = MIDAMLoss(mode=pooling, data_len=len(tr), margin=1.0, gamma=0.9,
                            **({"tau": 0.1} if pooling == "softmax" else {}), device=torch.device("cpu"))
        opt = MIDAM(model.parameters(), loss_fn=loss_fn, lr=1e-2, momentum=0.1, weight_decay=1e-4,
                    device=torch.device("cpu"))
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_pos = BATCH // 2
    steps = int(np.ceil(len(y) / BATCH))
    secs = []
    for epoch in range(args.epochs):
        if epoch in DECAY:
            with contextlib.redirect_stdout(io.StringIO()):
                if kind == "midam":
                    opt.update_lr(decay_factor=10.0); loss_fn.update_smoothing(2.0)
                else:
                    for g in opt.param_groups:
                        g["lr"] /= 10.0
        t0 = time.perf_counter()
        if kind == "midam":  # DualSampler: half positives, half negatives, drawn from shuffled cycles
            pp, nn = rng.permutation(pos), rng.permutation(neg)
            batches = [np.concatenate([np.resize(np.roll(pp, -b * n_pos), n_pos),
                                       np.resize(np.roll(nn, -b * (BATCH - n_pos)), BATCH - n_pos)]) for b in range(steps)]
        else:
            perm = rng.permutation(len(y))
            batches = [perm[i:i + BATCH] for i in range(0, len(y), BATCH)]
        model.train()
        for ids in batches:
            if kind == "midam":
                sn, sd_, ex = [], [], []
                for i in ids:
                    x = tr[i][1]
                    pick = torch.multinomial(torch.ones(x.shape[0]), min(x.shape[0], INST), replacement=False)
                    phi, w = model(x[pick])
                    if pooling == "softmax":
                        ex.append(torch.exp(phi / 0.1).mean().view(1))
                    else:
                        sn.append((phi * w).mean().view(1)); sd_.append(w.mean().view(1))
                yt = torch.tensor(y[ids], dtype=torch.float32)
                idx = torch.tensor(ids)
                if pooling == "softmax":
                    loss = loss_fn(y_pred=torch.cat(ex), y_true=yt, index=idx)
                else:
                    loss = loss_fn(y_pred=(torch.cat(sn), torch.cat(sd_)), y_true=yt, index=idx)
            else:
                outs = []
                for i in ids:
                    phi, _ = model(tr[i][1])
                    outs.append((phi.mean() if pooling == "mean" else phi.max()).view(1))
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    torch.cat(outs), torch.tensor(y[ids], dtype=torch.float32))
            opt.zero_grad()
            loss.backward()
            opt.step()
        secs.append(time.perf_counter() - t0)
    model.eval()
    scores = []
    with torch.no_grad():
        for _, x in te:
            phi, w = model(x)
            phi, w = phi.view(-1), w.view(-1)
            if pooling == "attention":
                s = (phi * w / w.sum()).sum()
            elif pooling == "softmax":
                s = 0.1 * torch.log(torch.exp(phi / 0.1).mean())
            elif pooling == "mean":
                s = phi.mean()
            else:
                s = phi.max()
            scores.append(float(s))
    return roc_auc_score([lab for lab, _ in te], scores), statistics.mean(secs)




rows = []
with tempfile.TemporaryDirectory() as work:
    for name in args.sets.split(","):
        bags = read_bags(os.path.join(args.mil_dir, f"{name}.csv"))
        res = {}
        for seed in SEEDS:
            train, test = split(bags, seed)
            tr_csv, te_csv = os.path.join(work, f"{name}_{seed}_train.csv"), os.path.join(work, f"{name}_{seed}_test.csv")
            write_bags(train, tr_csv); write_bags(test, te_csv)
            for label, kind, pooling in METHODS:
                res.setdefault(("xrisk", label), []).append(xrisk_run(tr_csv, te_csv, kind, pooling, seed, work))
                impl = "LibAUC 2.0.1" if kind == "midam" else "PyTorch"
                res.setdefault((impl, label), []).append(torch_run(train, test, kind, pooling, seed))
                print(name, seed, label, res[("xrisk", label)][-1], res[(impl, label)][-1], file=sys.stderr, flush=True)
        n_bags, n_pos = len(bags), sum(1 for b in bags if b[1] == 1)
        n_inst = sum(len(b[2]) for b in bags)
        for label, kind, _ in METHODS:
            for impl in ("xrisk", "LibAUC 2.0.1" if kind == "midam" else "PyTorch"):
                r = res[(impl, label)]
                rows.append(f"| {name} ({n_bags} bags, {n_pos} positive, {n_inst} instances) | {label} | {impl} | "
                            f"{fmt([a for a, _ in r])} | {statistics.mean(s for _, s in r):.3f} |")

lines = [
    f"Test AUROC after {args.epochs} epochs, mean ± std over seeds {args.seeds} (a stratified 70/30 bag split per seed, "
    f"the same files on both sides); {args.threads} threads; s/epoch = mean training time per epoch. "
    "Protocol in bench/mil.py's docstring.",
    "",
    "| data set | method | implementation | test AUROC | s/epoch |",
    "|---|---|---|---|---|",
] + rows
table = "\n".join(lines)
print(table)
write_block(args.out, "mil", "bench/mil.sh", "Multiple-instance AUC (MIDAM)", table)
