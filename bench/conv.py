"""The convolution kernels of a ResNet20 step (issues 8 and 22): one 3×3 convolution (stride 1,
padding 1, no bias) at the shapes of ResNet20's three stages on 28×28 images (16 channels
28×28, 32 channels 14×14, 64 channels 7×7; batch 64), timed as its three kernels — forward,
gradient with respect to the input, gradient with respect to the weight — on three sides:
xrisk's own kernels (`xrisk bench conv --kernels xrisk`: im2col + gemm, gemm + col2im, one
gemm over B·H·W; what the models run on flex), burn-flex (`--kernels burn`: its conv2d,
conv_transpose2d and conv2d_weight_backward, the kernels burn's autodiff calls for Conv2d) and
PyTorch (F.conv2d and torch.nn.grad.conv2d_input / conv2d_weight, i.e. aten's
convolution_backward that autograd calls; oneDNN on CPU). Each process times every kernel 10
times after one warm-up and reports the median; each cell is the median over 5 processes per
side (min–max), the three sides alternating, on 1 and 2 threads. Ratio = PyTorch time ÷ xrisk
time (> 1: xrisk faster). Writes the table between the conv markers of BENCHMARKS.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402

SHAPES = [(16, 28), (32, 14), (64, 7)]
BATCH = 64
OPS = [("forward", "forward_seconds"), ("input gradient", "input_grad_seconds"),
       ("weight gradient", "weight_grad_seconds")]


def child(channels, size, threads, repeat):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    x = torch.randn(BATCH, channels, size, size)
    w = torch.randn(channels, channels, 3, 3)
    dy = torch.randn(BATCH, channels, size, size)

    def median(f):
        f()
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    with torch.no_grad():
        out = {
            "forward_seconds": median(lambda: torch.nn.functional.conv2d(x, w, padding=1)),
            "input_grad_seconds": median(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1)),
            "weight_grad_seconds": median(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1)),
        }
    print(json.dumps(out))


if len(sys.argv) > 1 and sys.argv[1] == "--child":
    child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    sys.exit(0)

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--repeat", type=int, default=10)
args = ap.parse_args()


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def xrisk_run(c, s, t, kernels="xrisk"):
    p = subprocess.run([args.xrisk, "bench", "conv", "--channels", str(c), "--size", str(s),
                        "--batch", str(BATCH), "--threads", str(t), "--repeat", str(args.repeat),
                        "--kernels", kernels, "--json"], capture_output=True, text=True, check=True)
    return last_json(p.stdout)


def torch_run(c, s, t):
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(c), str(s),
                        str(t), str(args.repeat)], capture_output=True, text=True, check=True)
    return last_json(p.stdout)


def ms(xs):
    return f"{statistics.median(xs) * 1e3:.2f} ({min(xs) * 1e3:.2f}–{max(xs) * 1e3:.2f})"


rows = []
for threads in (1, 2):
    for c, s in SHAPES:
        ours, flex, theirs = [], [], []
        for _ in range(args.runs):
            ours.append(xrisk_run(c, s, threads))
            flex.append(xrisk_run(c, s, threads, "burn"))
            theirs.append(torch_run(c, s, threads))
        for op, key in OPS:
            a = [r[key] for r in ours]
            f = [r[key] for r in flex]
            b = [r[key] for r in theirs]
            ratio = statistics.median(b) / statistics.median(a)
            rows.append(f"| {c} × {s}×{s} | {threads} | {op} | {ms(a)} | {ms(f)} | {ms(b)} | "
                        f"{ratio:.2f}× |")
        print(f"{c}x{s} threads {threads} done", file=sys.stderr)

import torch  # noqa: E402  (its version for the table's caption)

table = (
    f"One 3×3 convolution (stride 1, padding 1, batch {BATCH}) at ResNet20's stage shapes, per "
    f"kernel: milliseconds, median of {args.runs} processes per side (min–max), each process the "
    f"median of {args.repeat} calls; ratio = PyTorch {torch.__version__} ÷ xrisk (> 1: xrisk "
    "faster). 2·B·C²·9·H·W = 0.231 GFLOP per kernel at every shape. Protocol in bench/conv.py's "
    "docstring.\n\n"
    "| channels × size | threads | kernel | xrisk ms | burn-flex ms | PyTorch ms | ratio |\n"
    "|---|---|---|---|---|---|---|\n" + "\n".join(rows)
)
write_block(args.out, "conv", "bench/conv.sh", "ResNet20's convolution kernels", table)
print(table)
