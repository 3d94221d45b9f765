"""AUROC and AP on 1M and 10M scores: xrisk vs scikit-learn, in one run on this machine.

Run through bench/metrics.sh, which builds xrisk and prepares the Python peer. Writes the
table between the metrics markers of BENCHMARKS.md. Both sides time the metric call alone on
data already in memory (median of --repeat runs); the values must agree to 1e-9.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--sizes", default="1000000,10000000")
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--out", default="BENCHMARKS.md")
args = ap.parse_args()


def median_time(f, repeat):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(value)


rows = []
rng = np.random.default_rng(7)
with tempfile.TemporaryDirectory() as tmp:
    for n in [int(x) for x in args.sizes.split(",")]:
        y = (rng.random(n) < 0.1).astype(np.uint8)
        s = rng.normal(size=n) + 1.0 * y
        s = np.round(s, 4)  # realistic ties: scores with 4 decimals
        yp, sp = os.path.join(tmp, "y.u8"), os.path.join(tmp, "s.f64")
        y.tofile(yp)
        s.astype("<f8").tofile(sp)
        t_auc, auc = median_time(lambda: roc_auc_score(y, s), args.repeat)
        t_ap, apv = median_time(lambda: average_precision_score(y, s), args.repeat)
        out = subprocess.run([args.xrisk, "bench", "metrics", "--labels", yp, "--scores", sp, "--repeat", str(args.repeat),
                              "--threads", str(args.threads), "--json"], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout)
        assert abs(r["auroc"] - auc) < 1e-9 and abs(r["auprc"] - apv) < 1e-9, (r, auc, apv)
        rows.append((n, "AUROC", t_auc, r["auroc_seconds"]))
        rows.append((n, "AP", t_ap, r["auprc_seconds"]))
        print(f"n={n}: sklearn AUROC {t_auc:.3f}s AP {t_ap:.3f}s | xrisk AUROC {r['auroc_seconds']:.4f}s AP {r['auprc_seconds']:.4f}s", file=sys.stderr)

cpu = platform.processor() or platform.machine()
try:
    with open("/proc/cpuinfo") as fh:
        cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
except (OSError, StopIteration):
    pass
lines = [
    "<!-- metrics:start (written by bench/metrics.sh; do not edit by hand) -->",
    f"Measured {time.strftime('%Y-%m-%d')} on {cpu}, {os.cpu_count()} cores; xrisk with {args.threads} threads, "
    f"scikit-learn {sklearn.__version__} / NumPy {np.__version__}; median of {args.repeat} runs; "
    "10 % positives, scores rounded to 4 decimals (ties); both sides agree to 1e-9.",
    "",
    "| n | metric | scikit-learn (s) | xrisk (s) | speed-up |",
    "|---:|---|---:|---:|---:|",
]
for n, m, ts, tx in rows:
    lines.append(f"| {n:,} | {m} | {ts:.3f} | {tx:.4f} | {ts / tx:.1f}× |")
lines.append("<!-- metrics:end -->")
block = "\n".join(lines)

text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n\n## Metrics\n\n<!-- metrics:start -->\n<!-- metrics:end -->\n"
start, end = text.find("<!-- metrics:start"), text.find("<!-- metrics:end -->")
if start < 0 or end < 0:
    text = text.rstrip() + "\n\n## Metrics\n\n" + block + "\n"
else:
    text = text[:start] + block + text[end + len("<!-- metrics:end -->"):]
with open(args.out, "w") as fh:
    fh.write(text)
print(block)
