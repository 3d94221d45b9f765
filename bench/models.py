"""Training steps/s with a model (issue 8): AUCM + PESG and AP + SOAP with an MLP (74 → 128 → 1,
ReLU) on KDD Cup 2004 protein homology, xrisk against LibAUC 2.0.1 / PyTorch, on 1 and 2
threads. Same work per step on both sides: features standardised on the training rows, 128 rows
per step (64 positives, 64 negatives from a dual sampler), the sigmoid of the MLP's logit into the
loss, backward, the optimizer step (PESG lr 0.1; SOAP Adam lr 1e-3; library defaults otherwise).
xrisk: one `xrisk train` epoch (examples/protein/*.toml, 1,579 steps; its timing.jsonl counts the
training steps and their seconds, evaluation excluded); PyTorch: 1,000 steps after 50 warm-up
steps in a fresh process. Each cell: median of 5 runs (min–max), alternating the two sides.
Writes the table between the models markers of BENCHMARKS.md.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402

CASES = [("AUCM + PESG", "protein_aucm_pesg.toml", "aucm"), ("AP + SOAP", "protein_ap_soap.toml", "ap")]


def child(kind, parquet, threads):
    import numpy as np
    import pandas as pd
    import torch
    import libauc.optimizers as O
    from libauc.losses import AUCMLoss, APLoss
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    df = pd.read_parquet(parquet)
    y = df["target"].to_numpy().astype(np.float32)
    x = df.drop(columns=["EXAMPLE_ID", "BLOCK_ID", "target"]).to_numpy().astype(np.float32)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    tr = perm[round(0.3 * len(y)):]
    mu, sd = x[tr].mean(0), x[tr].std(0)
    sd[sd == 0] = 1
    X, Y = torch.tensor((x[tr] - mu) / sd), torch.tensor(y[tr])
    pos, neg = np.flatnonzero(y[tr] == 1), np.flatnonzero(y[tr] == 0)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
    dev = torch.device("cpu")
    with contextlib.redirect_stdout(io.StringIO()):
        if kind == "aucm":
            loss_fn = AUCMLoss(device=dev)
            opt = O.PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, device=dev, verbose=False)
        else:
            loss_fn = APLoss(data_len=len(tr), device=dev)
            opt = O.SOAP(model.parameters(), lr=1e-3, mode="adam")
    times = 0.0
    for step in range(1050):
        t = time.perf_counter()
        ids = np.concatenate([rng.choice(pos, 64), rng.choice(neg, 64)])
        it = torch.tensor(ids)
        p = torch.sigmoid(model(X[it])).view(-1)
        v = loss_fn(p, Y[it]) if kind == "aucm" else loss_fn(p, Y[it], it)
        opt.zero_grad(); v.backward(); opt.step()
        if step >= 50:
            times += time.perf_counter() - t
    print(json.dumps({"steps_per_second": 1000 / times}))


if len(sys.argv) > 1 and sys.argv[1] == "--child":
    child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--parquet", required=True)
ap.add_argument("--examples", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--runs", type=int, default=5)
args = ap.parse_args()


def xrisk_run(cfg, threads, work):
    text = open(cfg).read().replace("[train]\n", f"[train]\nthreads = {threads}\n")
    path = os.path.join(work, "m.toml")
    open(path, "w").write(text)
    out = os.path.join(work, f"run{time.time_ns()}")
    subprocess.run([args.xrisk, "train", "--config", path, "--epochs", "1", "--out", out, "--json"],
                   capture_output=True, text=True, check=True)
    t = json.loads(open(os.path.join(out, "timing.jsonl")).readline())
    return t["steps"] / t["seconds"]


def torch_run(kind, threads):
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, args.parquet, str(threads)],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])["steps_per_second"]


def cell(v):
    v = sorted(v)
    return statistics.median(v), f"{statistics.median(v):,.0f} ({v[0]:,.0f}–{v[-1]:,.0f})"


lines = [f"MLP 74 → 128 → 1 on protein-kddcup04, 128 rows per step; training steps per second, median of {args.runs} "
         "runs (min–max); ratio = xrisk ÷ peer. Protocol in bench/models.py's docstring.", "",
         "| loss + optimizer | threads | xrisk steps/s | LibAUC 2.0.1 steps/s | ratio |", "|---|---|---|---|---|"]
with tempfile.TemporaryDirectory() as work:
    for label, cfg, kind in CASES:
        for threads in (1, 2):
            xs, ts = [], []
            for _ in range(args.runs):
                xs.append(xrisk_run(os.path.join(args.examples, cfg), threads, work))
                ts.append(torch_run(kind, threads))
            (xm, xc), (tm, tc) = cell(xs), cell(ts)
            print(label, threads, xc, tc, file=sys.stderr, flush=True)
            lines.append(f"| {label} | {threads} | {xc} | {tc} | {xm / tm:.1f}× |")
table = "\n".join(lines)
print(table)
write_block(args.out, "models", "bench/models.sh", "Training steps/s with a model (MLP on protein)", table)
