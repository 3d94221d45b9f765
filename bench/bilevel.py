#!/usr/bin/env python3
"""Runs `xrisk bilevel` for the BENCHMARKS.md bilevel section (see bench/bilevel.sh)."""
import argparse, datetime, json, os, platform, statistics, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--seeds", default="0,1,2")
ap.add_argument("--sweep-iters", type=int, default=300)
ap.add_argument("--runs", default="runs/bench-bilevel")
args = ap.parse_args()
seeds = [int(s) for s in args.seeds.split(",")]
LARGE_ETA = 3000.0


def run(name, extra):
    out = os.path.join(args.runs, name)
    cmd = [args.xrisk, "bilevel", "--out", out, "--force", "--json"] + extra
    print("+", " ".join(cmd), flush=True)
    summary = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    with open(os.path.join(out, "curves.jsonl")) as fh:
        curves = [json.loads(l) for l in fh]
    return summary, curves


def ms(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)


def fmt(xs, d=4):
    m, s = ms(xs)
    return f"{m:.{d}f} ± {s:.{d}f}"


# 1. main comparison, paper setting and a larger upper-level step
main_rows = []
per_epoch = None
for eta in [1e-3, LARGE_ETA]:
    res = {}
    for seed in seeds:
        summ, curves = run(f"main-eta{eta:g}-seed{seed}", ["--epochs", str(args.epochs), "--eval-every", "57",
                                                           "--methods", "v1,v2,rsvrb,v2-ma", "--eta", str(eta), "--seed", str(seed)])
        for s in summ:
            res.setdefault(s["method"], []).append(s)
    for method, ss in res.items():
        main_rows.append((eta, method, ss))

# 2. sweeps with v2 (cheap iterations) at the larger step
def sweep(label, values, flag, fixed):
    rows = []
    for v in values:
        finals, curves_by_seed, spi = [], [], []
        for seed in seeds:
            summ, curves = run(f"sweep-{label}{v}-seed{seed}", ["--iters", str(args.sweep_iters), "--eval-every", "10", "--methods", "v2",
                                                                 "--eta", str(LARGE_ETA), "--seed", str(seed), flag, str(v)] + fixed)
            finals.append(summ[0]["final_upper_loss"])
            spi.append(summ[0]["seconds_per_iteration"])
            curves_by_seed.append(curves)
        # mean curve over seeds, point by point (same evaluation iterations)
        mean_curve = [(pts[0]["iteration"], pts[0]["samples"], statistics.mean(p["upper_loss"] for p in pts))
                      for pts in zip(*curves_by_seed)]
        rows.append((v, finals, mean_curve, statistics.median(spi)))
    target = max(statistics.mean(r[1]) for r in rows)
    out = []
    for v, finals, curve, spi in rows:
        hit = next(((it, sm) for it, sm, l in curve if l <= target), (None, None))
        out.append((v, finals, hit, spi))
    return target, out

i_target, i_rows = sweep("I", [1, 2, 5, 10, 25, 50], "--blocks-per-iter", ["--samples-per-block", "32"])
b_target, b_rows = sweep("B", [4, 8, 32, 128], "--samples-per-block", ["--blocks-per-iter", "10"])

try:
    with open("/proc/cpuinfo") as fh:
        cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
except (OSError, StopIteration):
    cpu = platform.processor() or "unknown CPU"
version = subprocess.run([args.xrisk, "--version"], capture_output=True, text=True).stdout.strip()
L = ["<!-- bilevel:start (written by bench/bilevel.sh; do not edit by hand) -->",
     f"Measured {datetime.date.today()} on {cpu}, {os.cpu_count()} cores; {version}; seeds {args.seeds}. "
     f"a8a: 18,156 training / 4,540 validation (the last rows of the training file, disjoint) / 9,865 test rows; "
     f"m = 100 models with scales 1.16…10.95; λ = 1e-5; α = β = 0.9, γ = 1; τ = 0.5 (v1, RSVRB), τ = τ_u = 1 (v2); "
     f"Hessian eigenvalue floor 0.05; ‖u‖ ≤ 10; sampled-block lower-level moves. Upper loss = mean validation logistic loss of the m models; "
     f"test accuracy = mean over the m models. Seconds per iteration exclude evaluation.",
     "",
     f"**Main run** (I = 10, B = 32, {args.epochs} epochs of 57 iterations; mean ± std over seeds):",
     "",
     "| η | method | ms / iteration | upper loss start → end | test loss | test accuracy |",
     "|---|---|---|---|---|---|"]
for eta, method, ss in main_rows:
    spi = statistics.median(s["seconds_per_iteration"] for s in ss) * 1e3
    L.append(f"| {eta:g} | {method} | {spi:.2f} | {ss[0]['initial_upper_loss']:.4f} → {fmt([s['final_upper_loss'] for s in ss])} "
             f"| {fmt([s['final_test_loss'] for s in ss])} | {fmt([s['final_test_accuracy'] for s in ss])} |")
def sweep_table(name, target, rows):
    L.append("")
    L.append(f"**Sweep over {name}** (v2, η = {LARGE_ETA:g}, {args.sweep_iters} iterations; target = the worst mean final upper loss, {target:.4f}):")
    L.append("")
    L.append(f"| {name} | final upper loss | iterations to target | samples to target | ms / iteration |")
    L.append("|---|---|---|---|---|")
    for v, finals, (it, sm), spi in rows:
        L.append(f"| {v} | {fmt(finals)} | {it if it is not None else '—'} | {f'{sm:,}' if sm is not None else '—'} | {spi * 1e3:.2f} |")
sweep_table("I (B = 32)", i_target, i_rows)
sweep_table("B (I = 10)", b_target, b_rows)
L.append("<!-- bilevel:end -->")
block = "\n".join(L)

text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n"
start, end = text.find("<!-- bilevel:start"), text.find("<!-- bilevel:end -->")
if start < 0 or end < 0:
    text = text.rstrip() + "\n\n## Multi-block bilevel optimization (BSVRB) on a8a\n\nScript: `bench/bilevel.sh`.\n\n" + block + "\n"
else:
    text = text[:start] + block + text[end + len("<!-- bilevel:end -->"):]
with open(args.out, "w") as fh:
    fh.write(text)
print(block)
