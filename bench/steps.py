"""The X-risk loss + optimizer step alone (issue 8), xrisk against LibAUC 2.0.1: the "model" is
one score per batch row (a parameter vector), so a step is the loss's state reads and writes,
its surrogate, the backward pass and the optimizer update, with each loss's LibAUC-paired
optimizer and lr 0.01. Part A: every X-risk loss at batch 64, 256 and 1024 with N = 100,000
samples of state, on 1 and 2 threads. Part B: AP + SOAP at batch 256 with N = 10^3 … 10^7
(the per-step cost must stay flat in N), with the peak resident memory of the process. Each
cell: the median over 5 runs (min–max) of a run's median step time over 200 steps after 20
warm-up steps; each LibAUC run is its own process (for its peak memory). Labels alternate 1/0;
ids are uniform in [0, N). Writes the tables between the steps markers of BENCHMARKS.md.
"""
import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402

LOSSES = [("aucm", "PESG"), ("compositional_auc", "PDSCA"), ("ap", "SOAP"), ("pauc_dro", "SOPAs"),
          ("pauc_cvar", "SOPA"), ("tpauc_kl", "SOTAs"), ("tpauc_cvar", "STACO")]


def libauc_child(loss_kind, batch, n, steps, threads):
    import numpy as np
    import torch
    import libauc.optimizers as O
    from libauc.losses import AUCMLoss, APLoss, pAUC_DRO_Loss, pAUC_CVaR_Loss, tpAUC_KL_Loss, CompositionalAUCLoss
    from libauc.losses.auc import tpAUC_CVaR_loss
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    dev = torch.device("cpu")
    z = torch.nn.Parameter(torch.randn(batch))
    kinds = {
        "aucm": lambda: AUCMLoss(device=dev),
        "compositional_auc": lambda: CompositionalAUCLoss(device=dev),
        "ap": lambda: APLoss(data_len=n, device=dev),
        "pauc_dro": lambda: pAUC_DRO_Loss(data_len=n, device=dev),
        "pauc_cvar": lambda: pAUC_CVaR_Loss(data_len=n, pos_len=n, device=dev),
        "tpauc_kl": lambda: tpAUC_KL_Loss(data_len=n, device=dev),
        "tpauc_cvar": lambda: tpAUC_CVaR_loss(data_length=n, device=dev),
    }
    loss_fn = kinds[loss_kind]()
    opt_name = dict(LOSSES)[loss_kind]
    with contextlib.redirect_stdout(io.StringIO()):
        if opt_name in ("PESG", "PDSCA"):
            opt = getattr(O, opt_name)([z], loss_fn=loss_fn, lr=0.01, device=dev, verbose=False)
        else:
            opt = getattr(O, opt_name)([z], lr=0.01, device=dev)
    y = torch.tensor([1.0 if i % 2 == 0 else 0.0 for i in range(batch)])
    rng = np.random.default_rng(11)
    times = []
    for step in range(steps + 20):
        idx = torch.tensor(rng.integers(0, n, size=batch))
        t = time.perf_counter()
        p = torch.sigmoid(z)
        if loss_kind in ("aucm", "compositional_auc"):
            v = loss_fn(p, y)
        else:
            v = loss_fn(p, y, idx)
        opt.zero_grad()
        v.backward()
        opt.step()
        if step >= 20:
            times.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"step_seconds": statistics.median(times), "peak_rss_mib": rss}))


def libauc_run(py, loss, batch, n, threads):
    p = subprocess.run([py, os.path.abspath(__file__), "--child", loss, str(batch), str(n), "200", str(threads)],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def xrisk_run(xrisk, loss, batch, n, threads):
    p = subprocess.run([xrisk, "bench", "steps", "--loss", loss, "--batch", str(batch), "--data-len", str(n),
                        "--steps", "200", "--threads", str(threads), "--json"], capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def cell(runs, key="step_seconds"):
    v = sorted(r[key] * 1e6 for r in runs)
    return statistics.median(v), f"{statistics.median(v):.0f} ({v[0]:.0f}–{v[-1]:.0f})"


if len(sys.argv) > 1 and sys.argv[1] == "--child":
    libauc_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--runs", type=int, default=5)
args = ap.parse_args()
py = sys.executable
R = args.runs

lines = ["Part A — every X-risk loss with its paired optimizer, N = 100,000; µs per step, median of "
         f"{R} runs (min–max); speed-up = LibAUC ÷ xrisk.", "",
         "| loss + optimizer | batch | threads | xrisk µs/step | LibAUC 2.0.1 µs/step | speed-up |", "|---|---|---|---|---|---|"]
for loss, opt in LOSSES:
    for batch in (64, 256, 1024):
        for threads in (1, 2):
            xs, ls = [], []
            for _ in range(R):  # alternate the two sides
                xs.append(xrisk_run(args.xrisk, loss, batch, 100_000, threads))
                ls.append(libauc_run(py, loss, batch, 100_000, threads))
            (xm, xc), (lm, lc) = cell(xs), cell(ls)
            print(loss, batch, threads, xc, lc, file=sys.stderr, flush=True)
            lines.append(f"| {loss} + {opt} | {batch} | {threads} | {xc} | {lc} | {lm / xm:.1f}× |")
lines += ["", "Part B — AP + SOAP, batch 256, 1 thread, against the number of samples N with per-sample state; "
          f"µs per step and peak resident memory (MiB) of the process, median of {R} runs (min–max).", "",
          "| N | xrisk µs/step | xrisk peak MiB | LibAUC 2.0.1 µs/step | LibAUC peak MiB |", "|---|---|---|---|---|"]
for n in (1_000, 10_000, 100_000, 1_000_000, 10_000_000):
    xs, ls = [], []
    for _ in range(R):
        xs.append(xrisk_run(args.xrisk, "ap", 256, n, 1))
        ls.append(libauc_run(py, "ap", 256, n, 1))
    (_, xc), (_, lc) = cell(xs), cell(ls)
    xr = statistics.median(r["peak_rss_mib"] for r in xs)
    lr = statistics.median(r["peak_rss_mib"] for r in ls)
    print("N", n, xc, lc, file=sys.stderr, flush=True)
    lines.append(f"| {n:,} | {xc} | {xr:.0f} | {lc} | {lr:.0f} |")
table = "\n".join(lines)
print(table)
write_block(args.out, "steps", "bench/steps.sh", "X-risk loss + optimizer step alone", table)
