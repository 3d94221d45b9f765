"""Profiles of xrisk workloads with `perf record` (1 thread, 999 Hz): the share of CPU samples per
category of symbol, so that the gaps in the steps/s tables have a measured explanation (issues 8
and 22). Workloads (the configs of bench/models_cfg.py): SONG + NeuMF on MovieLens-100k (3
epochs, evaluation included); AUCM + PESG with ResNet20 on embedded Fashion-MNIST (12 steps,
evaluation on 1,000 images included); AUCM + PESG with DenseNet121 on 3 × 224 × 224 images, batch
16 (2 steps, evaluation on 32 images included); the three kernels of one 3×3 convolution at
16 × 28×28, batch 64 (`xrisk bench conv`); the AP + SOAP loss + optimizer step alone at batch
1024 (`xrisk bench steps`).

Last row: how busy two threads are — the same workload run again with 2 threads, its CPU time
(user + system, from the kernel's accounting of the child) ÷ (2 × its wall time), in %: 100 means
both cores worked throughout, 50 that one of them idled (the share of the work that is not
split over the pool). Writes the table between the profile markers of BENCHMARKS.md."""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402
from models_cfg import DENSENET_CFG, NEUMF_CFG, RESNET_CFG, write_densenet_idx  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--movielens", default=None)
ap.add_argument("--images", required=True, help="folder with the embedded t10k-*-ubyte.gz files")
args = ap.parse_args()

# First match wins; matched against the symbol name (kernel symbols carry "[k]").
CATEGORIES = [
    ("kernel (page faults, mmap/munmap)", r"\[k\]"),
    ("allocator", r"malloc|_int_free|\bfree\b|mi_|cfree|realloc"),
    ("X-risk kernels (xrisk_kernels)", r"xrisk_kernels"),
    ("pulp-dispatched vector loops (batch norm in the image models; pair sums in AP + SOAP)", r"norm::|pulp::"),
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


def busy(cmd):
    """CPU time ÷ (2 × wall time) of `cmd(2)`, in %."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd(2), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "RAYON_NUM_THREADS": "2"})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{cmd(2)} failed")
    return 100.0 * (usage.ru_utime + usage.ru_stime) / (2 * wall)


def train_cmd(cfg, work, *extra):
    def cmd(threads):
        path = os.path.join(work, f"cfg{threads}.toml")
        open(path, "w").write(cfg.replace("[train]\n", f"[train]\nthreads = {threads}\n"))
        return [args.xrisk, "train", "--config", path, "--out", os.path.join(work, f"out{time.time_ns()}"),
                *extra]
    return cmd


with tempfile.TemporaryDirectory() as work:
    runs = []
    if args.movielens and os.path.exists(args.movielens):
        runs.append(("SONG + NeuMF (MovieLens-100k)",
                     train_cmd(NEUMF_CFG.format(inter=args.movielens), work, "--epochs", "3")))
    else:
        print("NeuMF profile skipped: xrisk data fetch movielens-100k", file=sys.stderr)
    runs.append(("AUCM + PESG, ResNet20",
                 train_cmd(RESNET_CFG, work, "--epochs", "1", "--max-steps-per-epoch", "12")))
    dense = write_densenet_idx(args.images, work)
    runs.append(("AUCM + PESG, DenseNet121 (224², batch 16)",
                 train_cmd(DENSENET_CFG.format(images=dense[0], labels=dense[1]), work,
                           "--epochs", "1", "--max-steps-per-epoch", "2")))
    runs.append(("conv kernels, 16 × 28², batch 64",
                 lambda t: [args.xrisk, "bench", "conv", "--channels", "16", "--size", "28", "--batch", "64",
                            "--repeat", "20", "--threads", str(t)]))
    runs.append(("AP + SOAP step, batch 1024",
                 lambda t: [args.xrisk, "bench", "steps", "--loss", "ap", "--batch", "1024",
                            "--steps", "300", "--threads", str(t)]))
    results = []
    for label, cmd in runs:
        shares = profile(cmd(1), work)
        shares["two threads busy (%)"] = busy(cmd)
        results.append((label, shares))
        print(label, results[-1][1], file=sys.stderr, flush=True)

names = [n for n, _ in CATEGORIES] + ["other", "two threads busy (%)"]
lines = ["Share of CPU samples (`perf record`, 999 Hz, 1 thread) per kind of work, in % of each "
         "workload's samples; categories by symbol name (bench/perf_profile.py). Last row: the same "
         "workload on 2 threads, CPU time ÷ (2 × wall time), in % (100: both cores busy throughout). "
         "Protocol in its docstring.", "",
         "| category | " + " | ".join(l for l, _ in results) + " |",
         "|---|" + "---|" * len(results)]
for n in names:
    lines.append(f"| {n} | " + " | ".join(f"{r[n]:.1f}" for _, r in results) + " |")
table = "\n".join(lines)
print(table)
write_block(args.out, "profile", "bench/profile.sh", "Profiles: where the time goes", table)
