"""Profiles of three xrisk workloads (issue 8) with `perf record` (1 thread, 999 Hz): the share
of CPU samples per category of symbol, so that the gaps in the steps/s tables have a measured
explanation. Workloads (the configs of bench/models_cfg.py): SONG + NeuMF on MovieLens-100k
(3 epochs, evaluation included); AUCM + PESG with ResNet20 on embedded Fashion-MNIST (12 steps,
evaluation on 1,000 images included); the AP + SOAP loss + optimizer step alone at batch 1024 (`xrisk bench steps`).
Writes the table between the profile markers of BENCHMARKS.md."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402
from models_cfg import NEUMF_CFG, RESNET_CFG  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--movielens", default=None)
args = ap.parse_args()

# First match wins; matched against the symbol name (kernel symbols carry "[k]").
CATEGORIES = [
    ("kernel (page faults, mmap/munmap)", r"\[k\]"),
    ("allocator", r"malloc|_int_free|\bfree\b|mi_|cfree|realloc"),
    ("random numbers (dropout masks)", r"distribution|Distribution|chacha|rng|random|Bernoulli"),
    ("convolution", r"conv|im2col|col2im|unfold"),
    ("matmul (gemm)", r"gemm|matmul|microkernel"),
    ("memory copies / fills", r"memmove|memcpy|memset|copy_|clone|into_contiguous"),
    ("gather / scatter / select", r"select|gather|scatter|index|embedding"),
    ("element-wise ops", r"binary|unary|scalar_op|zip|strided|cmp|mask|clamp|exp|log|relu|sigmoid"),
    ("reductions / sort", r"reduce|sum|mean|max|sort|argsort"),
    ("autodiff bookkeeping", r"burn_autodiff|autodiff|backward|Graph|checkpoint"),
]


def profile(cmd, work):
    data = os.path.join(work, "perf.data")
    subprocess.run(["perf", "record", "-F", "999", "-o", data, "--", *cmd], check=True,
                   capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": "1"})
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "sym", "--stdio"],
                         check=True, capture_output=True, text=True).stdout
    shares = {name: 0.0 for name, _ in CATEGORIES}
    shares["other"] = 0.0
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\[[.k]\])\s+(.*)", line)
        if not m:
            continue
        pct, kind, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        key = f"{kind} {sym}"
        for name, pat in CATEGORIES:
            if re.search(pat, key):
                shares[name] += pct
                break
        else:
            shares["other"] += pct
    return shares


with tempfile.TemporaryDirectory() as work:
    runs = []
    if args.movielens and os.path.exists(args.movielens):
        p = os.path.join(work, "ml.toml")
        open(p, "w").write(NEUMF_CFG.format(inter=args.movielens))
        runs.append(("SONG + NeuMF (MovieLens-100k)", [args.xrisk, "train", "--config", p, "--epochs", "3"]))
    else:
        print("NeuMF profile skipped: xrisk data fetch movielens-100k", file=sys.stderr)
    p = os.path.join(work, "rn.toml")
    open(p, "w").write(RESNET_CFG)
    runs.append(("AUCM + PESG, ResNet20", [args.xrisk, "train", "--config", p, "--epochs", "1",
                                           "--max-steps-per-epoch", "12"]))
    runs.append(("AP + SOAP step, batch 1024", [args.xrisk, "bench", "steps", "--loss", "ap", "--batch", "1024",
                                                "--steps", "300", "--threads", "1"]))
    results = []
    for label, cmd in runs:
        results.append((label, profile(cmd, work)))
        print(label, results[-1][1], file=sys.stderr, flush=True)

names = [n for n, _ in CATEGORIES] + ["other"]
lines = ["Share of CPU samples (`perf record`, 999 Hz, 1 thread) per kind of work, in % of each "
         "workload's samples; categories by symbol name (bench/perf_profile.py). Protocol in its docstring.", "",
         "| category | " + " | ".join(l for l, _ in results) + " |",
         "|---|" + "---|" * len(results)]
for n in names:
    lines.append(f"| {n} | " + " | ".join(f"{r[n]:.1f}" for _, r in results) + " |")
table = "\n".join(lines)
print(table)
write_block(args.out, "profile", "bench/profile.sh", "Profiles: where the time goes", table)
