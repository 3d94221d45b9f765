"""Data-parallel scaling (issue 10): `xrisk train` in 1 process vs 2 processes over loopback
(`--world-size 2`, coordinator on 127.0.0.1), the same global batch, 1 thread per process, on
the embedded Fashion-MNIST task ("Shirt" vs rest, 5 % positives) with an MLP 784 → 128 → 1
(100,609 parameters) and with ResNet20 (compute-bound; at most 3 runs). Steps/s = training steps of one epoch ÷ its training seconds (rank 0's
timing.jsonl; evaluation excluded); bytes = payload each process sends and receives per step
(the global batch's logits and the model's gradient sum; from the run's JSON). Median of N runs
(min–max). Writes the table between the distributed markers of BENCHMARKS.md.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--runs", type=int, default=5)
args = ap.parse_args()

# (label, loss, optimizer, model lines, global batch, runs): the MLP rows show the
# communication-bound case, the ResNet20 row (≈ 270k parameters, ~0.7 s per step on one
# thread) the compute-bound one; ResNet20 runs take minutes, so they get at most 3 runs.
MLP = 'kind = "mlp"\nhidden = [128]'
RESNET = 'kind = "resnet20"\ninput_shape = [1, 28, 28]'
CASES = [("AUCM + PESG", "aucm", "pesg", MLP, 64, None), ("AUCM + PESG", "aucm", "pesg", MLP, 512, None),
         ("AP + SOAP", "ap", "soap", MLP, 64, None), ("AP + SOAP", "ap", "soap", MLP, 512, None),
         ("AUCM + PESG, ResNet20", "aucm", "pesg", RESNET, 64, 3)]


def config(loss, opt, model, batch):
    return f"""[data]
format = "embedded-fashion-mnist"
positive_class = 6
imratio = 0.05
test_fraction = 0.3
[model]
{model}
[loss]
kind = "{loss}"
[optimizer]
kind = "{opt}"
[sampler]
batch_size = {batch}
sampling_rate = 0.5
[train]
epochs = 1
threads = 1
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cfg, world, work):
    out = os.path.join(work, f"o{os.urandom(4).hex()}")
    base = [args.xrisk, "train", "--config", cfg, "--json"]
    if world == 1:
        subprocess.run(base + ["--out", out], check=True, capture_output=True, text=True)
        stats = {}
    else:
        port = str(free_port())
        dist = ["--world-size", "2", "--coordinator", f"127.0.0.1:{port}"]
        p0 = subprocess.Popen(base + dist + ["--rank", "0", "--out", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        p1 = subprocess.Popen(base + dist + ["--rank", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        o1, e1 = p1.communicate()
        o0, e0 = p0.communicate()
        if p0.returncode or p1.returncode:
            raise SystemExit(f"distributed run failed:\n{e0}\n{e1}")
        stats = json.loads(o0.strip().splitlines()[-1])["distributed"]
    t = json.loads(open(os.path.join(out, "timing.jsonl")).readline())
    return t["steps"] / t["seconds"], stats


def cell(v, d=0):
    v = sorted(v)
    return statistics.median(v), f"{statistics.median(v):,.{d}f} ({v[0]:,.{d}f}–{v[-1]:,.{d}f})"


lines = [f"`xrisk train` on embedded Fashion-MNIST, MLP 784 → 128 → 1 or ResNet20, 1 thread per process; "
         f"training steps per second (one epoch), median of {args.runs} runs (ResNet20: {min(args.runs, 3)}) (min–max); speed-up = "
         "2 processes ÷ 1; bytes = payload each process sends / receives per step. Protocol in "
         "bench/distributed.py's docstring.", "",
         "| loss + optimizer | global batch | 1 process steps/s | 2 processes steps/s | speed-up | "
         "bytes sent / received per step |", "|---|---|---|---|---|---|"]
with tempfile.TemporaryDirectory() as work:
    for k, (label, loss, opt, model, batch, cap) in enumerate(CASES):
        cfg = os.path.join(work, f"c{k}.toml")
        open(cfg, "w").write(config(loss, opt, model, batch))
        one, two, stats = [], [], {}
        runs = min(args.runs, cap or args.runs)
        for _ in range(runs):
            one.append(run(cfg, 1, work)[0])
            s, stats = run(cfg, 2, work)
            two.append(s)
        d = 2 if model == RESNET else 0
        (m1, c1), (m2, c2) = cell(one, d), cell(two, d)
        print(label, batch, c1, c2, stats, file=sys.stderr, flush=True)
        lines.append(f"| {label} | {batch} | {c1} | {c2} | {m2 / m1:.2f}× | "
                     f"{stats['bytes_sent_per_step']:,.0f} / {stats['bytes_received_per_step']:,.0f} |")
table = "\n".join(lines)
print(table)
write_block(args.out, "distributed", "bench/distributed.sh", "Data-parallel scaling (1 vs 2 processes)", table)
