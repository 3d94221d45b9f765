"""Per-kernel cost (issue 20): runs the criterion benchmark `crates/xrisk-kernels/benches/kernels.rs`
on one core (RAYON_NUM_THREADS=1) and on two, reads criterion's median estimates and writes ns
per pair (per matrix entry for gcl, per score for aucm and focal) beside `floor` — the
squared-hinge surrogate and its derivative's sums over the same pairs in one pass of the kernels' vector row loop, the
least a core spends on a pair — into BENCHMARKS.md between the kernels markers."""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRIT = os.path.join(ROOT, "target", "criterion")
BATCHES = (64, 256, 1024)
# (benchmark group, what one unit is)
GROUPS = [("ap", "pair (P × B)"), ("pauc_dro", "pair (P × N⁻)"), ("pauc_cvar", "pair (P × N⁻)"),
          ("tpauc_kl", "pair (P × N⁻)"), ("tpauc_cvar", "pair (P × N⁻)"),
          ("pairwise_logistic", "pair (P × N⁻)"), ("gcl", "matrix entry (3 B²)"),
          ("aucm", "score"), ("focal", "score"), ("floor", "pair (P × B)")]


def units(group, b):
    p = b // 2
    if group in ("ap", "floor"):
        return p * b
    if group == "gcl":
        return 3 * b * b
    if group in ("aucm", "focal"):
        return b
    return p * (b - p)


def run(threads, seconds):
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    subprocess.run(["cargo", "bench", "--quiet", "-p", "xrisk-kernels", "--bench", "kernels", "--",
                    "--warm-up-time", "1", "--measurement-time", str(seconds)],
                   cwd=ROOT, env=env, check=True, stdout=sys.stderr)
    out = {}
    for g, _ in GROUPS:
        for b in BATCHES:
            with open(os.path.join(CRIT, g, str(b), "new", "estimates.json")) as fh:
                out[g, b] = json.load(fh)["median"]["point_estimate"]  # ns per call
    return out


ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--seconds", type=int, default=3, help="criterion measurement time per benchmark")
a = ap.parse_args()
res = {t: run(t, a.seconds) for t in (1, 2)}
cpu = "unknown CPU"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
lines = [f"One kernel call (checks, state update, gradient, value) on {cpu}; ns per unit, criterion "
         "median; `floor` is one pass of the kernels' vector row loop over the same P × B pairs (surrogate + derivative sums, "
         "no state): the least a core spends on a pair. Kernel ÷ floor compares a kernel's 1-thread "
         "ns per pair with the floor's at the same batch.", "",
         "| kernel | unit | batch | µs/call 1 thread | ns/unit 1 thread | ns/unit 2 threads | ÷ floor (1 thread) |",
         "|---|---|---|---|---|---|---|"]
for g, unit in GROUPS:
    for b in BATCHES:
        n = units(g, b)
        one, two = res[1][g, b] / n, res[2][g, b] / n
        ratio = "" if g in ("aucm", "focal", "gcl") else f"{one / (res[1]['floor', b] / units('floor', b)):.1f}×"
        lines.append(f"| {g} | {unit} | {b} | {res[1][g, b] / 1e3:.1f} | {one:.2f} | {two:.2f} | {ratio} |")
table = "\n".join(lines)
print(table)
write_block(a.out, "kernels", "bench/kernels.sh", "X-risk kernels alone (criterion)", table)
