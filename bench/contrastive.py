"""Contrastive experiments (issue 5; spec tempnet_isogclr_spec.md §4–5): runs the example
configs of examples/contrastive/ for each seed through `xrisk train --json` and writes two
tables into BENCHMARKS.md. Standard library only.

Unimodal: long-tailed Fashion-MNIST (2,000 … 20 training images per class), SimCLR's NT-Xent
vs SogCLR vs iSogCLR, plus the untrained encoder (the SogCLR config with 0 epochs) as the floor
of the linear evaluation; iSogCLR's mean learned τ per class and its Spearman correlation with
the class size. Bimodal: SpamAssassin subject ↔ body, CLIP vs SogCLR vs iSogCLR vs TempNet,
recall@1/5 both ways on the held-out pairs."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fmt, write_block  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="1,2,3")
ap.add_argument("--only", choices=["unimodal", "bimodal"])
args = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
seeds = [int(s) for s in args.seeds.split(",")]
work = tempfile.mkdtemp(prefix="xrisk-contrastive-")


def run(path, seed, extra=()):
    text = open(os.path.join(root, path)).read()
    cfg = os.path.join(work, f"{os.path.basename(path)}.{seed}.toml")
    open(cfg, "w").write(re.sub(r"(?m)^seed = \d+", f"seed = {seed}", text))
    p = subprocess.run([args.xrisk, "train", "--config", cfg, "--json", *extra], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{path} seed {seed} failed:\n{p.stderr}")
    r = json.loads(p.stdout)["test"]
    print(f"{path} seed {seed} {' '.join(extra)}: {json.dumps(r)[:300]}", file=sys.stderr)
    return r


def spearman(x, y):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        for k, i in enumerate(order):
            r[i] = float(k)
        return r
    rx, ry = ranks(x), ranks(y)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


footer = f"{len(seeds)} seeds ({args.seeds}), mean ± std. Rerun: `bench/contrastive.sh`."
if args.only in (None, "unimodal"):
    base = "examples/contrastive/fmnist_lt_sogclr.toml"
    rows = {"untrained encoder (floor)": [run(base, s, ["--epochs", "0"]) for s in seeds]}
    for name, path in [("SimCLR (NT-Xent)", "examples/contrastive/fmnist_lt_simclr.toml"),
                       ("SogCLR", base),
                       ("iSogCLR", "examples/contrastive/fmnist_lt_isogclr.toml")]:
        rows[name] = [run(path, s) for s in seeds]
    sizes = rows["SogCLR"][0]["train_per_class"]
    t = ["| method | linear-eval top-1 (all 10 classes) | top-1 on the 5 rarest classes |", "|---|---|---|"]
    for name, rs in rows.items():
        t.append(f"| {name} | {fmt([r['linear_top1'] for r in rs])} | {fmt([r['rare_top1'] for r in rs])} |")
    iso = rows["iSogCLR"]
    taus = [statistics.mean(r["tau_per_class"][c] for r in iso) for c in range(len(sizes))]
    rho = [spearman(r["tau_per_class"], sizes) for r in iso]
    t += ["", "iSogCLR's mean learned τ per class (mean over seeds; τ starts at 0.1):", "",
          "| class | " + " | ".join(str(c) for c in range(len(sizes))) + " |",
          "|---" * (len(sizes) + 1) + "|",
          "| training images | " + " | ".join(str(n) for n in sizes) + " |",
          "| mean τ | " + " | ".join(f"{v:.4f}" for v in taus) + " |",
          "", f"Spearman(τ per class, class size): {fmt(rho, 3)}.", "", footer]
    write_block(args.out, "contrastive-unimodal", "bench/contrastive.sh",
                "Contrastive, unimodal: long-tailed Fashion-MNIST", "\n".join(t))
if args.only in (None, "bimodal"):
    rows = {}
    for name, path in [("CLIP (mini-batch InfoNCE)", "examples/contrastive/spam_clip.toml"),
                       ("SogCLR", "examples/contrastive/spam_sogclr.toml"),
                       ("iSogCLR", "examples/contrastive/spam_isogclr.toml"),
                       ("TempNet", "examples/contrastive/spam_tempnet.toml")]:
        rows[name] = [run(path, s) for s in seeds]
    t = ["| method | subject→body R@1 | R@5 | body→subject R@1 | R@5 | mean τ (subject / body) |",
         "|---|---|---|---|---|---|"]
    for name, rs in rows.items():
        tau = "—"
        if "mean_tau" in rs[0]:
            tau = f"{statistics.mean(r['mean_tau']['subject'] for r in rs):.4f} / " \
                  f"{statistics.mean(r['mean_tau']['body'] for r in rs):.4f}"
        t.append(f"| {name} | {fmt([r['subject_to_body']['r1'] for r in rs])} | {fmt([r['subject_to_body']['r5'] for r in rs])} "
                 f"| {fmt([r['body_to_subject']['r1'] for r in rs])} | {fmt([r['body_to_subject']['r5'] for r in rs])} | {tau} |")
    n = rows["SogCLR"][0]["pairs"]
    t += ["", f"{n} held-out pairs (chance R@1 = {1 / n:.4f}). {footer}"]
    write_block(args.out, "contrastive-bimodal", "bench/contrastive.sh",
                "Contrastive, bimodal: mail subject ↔ body (SpamAssassin)", "\n".join(t))
