"""The GPU rows (issue 8, part 3): ResNet20 + AUCM/PESG (64 images per step) and NeuMF + SONG
(64 users × 110 items per step) in xrisk on `device = "cuda"` and in LibAUC/PyTorch on CUDA;
steps per second, median of 3 runs. xrisk: the last of two epochs (ResNet20 capped at 50 steps
per epoch; its loss value is read back every step, which synchronises the GPU); PyTorch: the
children of bench/models.py with `cuda`, synchronising before each clock read. Writes a
markdown table with the date, the GPU and the versions."""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--images", required=True)
ap.add_argument("--movielens", default=None)
ap.add_argument("--out", required=True)
args = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import models_cfg  # noqa: E402  (the configs bench/models.py uses)


def xrisk(cfg, extra, work):
    path = os.path.join(work, "g.toml")
    open(path, "w").write(cfg.replace("[train]\n", '[train]\ndevice = "cuda"\n'))
    out = os.path.join(work, f"o{os.urandom(4).hex()}")
    p = subprocess.run([args.xrisk, "train", "--config", path, "--out", out, "--json", *extra],
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"xrisk failed:\n{p.stderr[-3000:]}")
    t = json.loads(open(os.path.join(out, "timing.jsonl")).read().strip().splitlines()[-1])
    return t["steps"] / t["seconds"]


def torch(child, *a):
    p = subprocess.run([sys.executable, os.path.join(here, "models.py"), child, *a, "1", "cuda"],
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"PyTorch failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])["steps_per_second"]


rows = [("ResNet20", "AUCM + PESG", lambda w: xrisk(models_cfg.RESNET_CFG, ["--max-steps-per-epoch", "50"], w),
         lambda: torch("--child-resnet", args.images))]
if args.movielens and os.path.exists(args.movielens):
    rows.append(("NeuMF", "SONG (NDCG)", lambda w: xrisk(models_cfg.NEUMF_CFG.format(inter=args.movielens), [], w),
                 lambda: torch("--child-neumf", args.movielens)))
import torch as th  # noqa: E402
gpu = th.cuda.get_device_name(0)
lines = [f"Measured {datetime.date.today().isoformat()} on {gpu} by bench/gpu.sh (torch {th.__version__}); "
         "steps per second, median of 3 runs (min–max); ratio = xrisk ÷ peer. Protocol in bench/gpu.py.", "",
         "| model | loss + optimizer | xrisk (CUDA) steps/s | LibAUC 2.0.1 (CUDA) steps/s | ratio |",
         "|---|---|---|---|---|"]
with tempfile.TemporaryDirectory() as work:
    for model, loss, xr, tr in rows:
        xs, ts = sorted(xr(work) for _ in range(3)), sorted(tr() for _ in range(3))
        xm, tm = statistics.median(xs), statistics.median(ts)
        print(model, xs, ts, file=sys.stderr, flush=True)
        lines.append(f"| {model} | {loss} | {xm:,.1f} ({xs[0]:,.1f}–{xs[-1]:,.1f}) | "
                     f"{tm:,.1f} ({ts[0]:,.1f}–{ts[-1]:,.1f}) | {xm / tm:.2f}× |")
open(args.out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
