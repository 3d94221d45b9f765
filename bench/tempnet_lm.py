"""LLM-temperature experiment (issue 5, spec tempnet_isogclr_spec.md §3.2, §3.6): the two
example configs examples/lm/moby_dick_tau1.toml (τ = 1, plain cross-entropy) and
examples/lm/moby_dick_tempnet.toml (TempNet trained jointly with the robust loss), one run per
seed; the held-out metrics of the last epoch (NLL of softmax(z/τ) in nats and bits per
character on the last 10 % of the book, top-1 accuracy, expected calibration error with 15
bins, mean τ), and two 160-character samples per model from the first seed's runs: TempNet's
model with its per-step τ and at τ = 1, the baseline at τ = 1. Standard library only."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fmt, write_block  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="1,2,3")
args = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
seeds = [int(s) for s in args.seeds.split(",")]
# name -> (config, substitutions): the TempNet example aims at the entropy ln V − ρ = 1.52 nats,
# below the baseline's held-out cross-entropy; the second TempNet row aims above it.
configs = {"τ = 1 (cross-entropy)": ("examples/lm/moby_dick_tau1.toml", {}),
           "TempNet + robust loss, ρ = 2.9 (target entropy 1.52 nats)": ("examples/lm/moby_dick_tempnet.toml", {}),
           "TempNet + robust loss, ρ = 2.2 (target entropy 2.22 nats)": ("examples/lm/moby_dick_tempnet.toml",
                                                                        {r"(?m)^rho = .*$": "rho = 2.2"})}
work = tempfile.mkdtemp(prefix="xrisk-tempnet-lm-")
results, runs = {}, {}
# TempNet on the frozen τ = 1 model of the same seed: one epoch, only TempNet learns.
# TempNet starts near the middle of [τ_min, τ_max] and Adam moves its output bias by about the
# learning rate per step, so 400 steps at the joint runs' 1e-3 stop short of the optimum (seen in
# this table's previous version: τ 2.04 in every seed); the frozen row uses 1e-2.
FROZEN = "TempNet on the frozen τ = 1 model, ρ = 2.9 (1 epoch, TempNet lr 0.01)"
configs[FROZEN] = ("examples/lm/moby_dick_tempnet.toml",
                   {r"(?m)^epochs = \d+": "epochs = 1", r"(?m)^\[train\]": "[train]\nfreeze_model = true",
                    r"(?m)^tempnet_lr = .*$": "tempnet_lr = 0.01"})
for k, (name, (path, subs)) in enumerate(configs.items()):
    text = open(os.path.join(root, path)).read()
    for pattern, value in subs.items():
        text = re.sub(pattern, value, text)
    for i, seed in enumerate(seeds):
        if name == FROZEN:
            start = runs["τ = 1 (cross-entropy)"][i]
            text = re.sub(r"(?m)^\[model\]$", f"[model]\ninit_from = \"{start}\"", text, count=1) \
                if "init_from" not in text else re.sub(r'(?m)^init_from = .*$', f'init_from = "{start}"', text)
        cfg = os.path.join(work, f"{k}.{seed}.toml")
        open(cfg, "w").write(re.sub(r"(?m)^seed = \d+", f"seed = {seed}", text))
        out = os.path.join(work, f"{k}.{seed}")
        p = subprocess.run([args.xrisk, "train", "--config", cfg, "--out", out, "--json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{path} seed {seed} failed:\n{p.stderr}")
        results.setdefault(name, []).append(json.loads(p.stdout)["test"])
        runs.setdefault(name, []).append(out)
        print(f"{name} seed {seed}: {results[name][-1]}", file=sys.stderr)


def sample(model, extra):
    p = subprocess.run([args.xrisk, "generate", "--model", model, "--prompt", "Call me Ishmael. ",
                        "--length", "160", "--seed", "7", "--json"] + extra,
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


rows = ["| model | held-out NLL (nats/char) | bits/char | top-1 accuracy | ECE | mean τ |",
        "|---|---|---|---|---|---|"]
for name, rs in results.items():
    rows.append(f"| {name} | {fmt([r['nll'] for r in rs])} | {fmt([r['nll'] / 0.6931471805599453 for r in rs], 3)} "
                f"| {fmt([r['accuracy'] for r in rs])} | {fmt([r['ece'] for r in rs])} "
                f"| {fmt([r['mean_tau'] for r in rs], 3)} |")
tn = runs["TempNet + robust loss, ρ = 2.9 (target entropy 1.52 nats)"][0]
base = runs["τ = 1 (cross-entropy)"][0]
samples = [("TempNet model (ρ = 2.9), TempNet's τ per step", sample(tn, [])),
           ("TempNet model (ρ = 2.9), τ = 1", sample(tn, ["--tau", "1"])),
           ("τ = 1 model, τ = 1", sample(base, []))]
lines = ["", f"Samples (first seed, prompt \"Call me Ishmael. \", 160 characters, sampler seed 7):", ""]
for what, s in samples:
    shown = s["text"].replace("\n", " ").replace("|", "¦")
    lines.append(f"- {what} (mean τ {s['mean_tau']:.3f}): `{shown}`")
table = "\n".join(rows) + "\n" + "\n".join(lines) + (
    f"\n\n{len(seeds)} seeds ({args.seeds}); GRU 128 wide, 3 epochs × 400 steps of 32 windows × 64 "
    f"characters; held out: the last 10 % of the book (up to 256 windows); the frozen row trains only "
    f"TempNet for 400 steps (Adam, lr 0.01) on the τ = 1 run of the same seed. Rerun: `bench/tempnet_lm.sh`.")
write_block(args.out, "tempnet-lm", "bench/tempnet_lm.sh",
            "LLM temperature: TempNet on a character language model (Moby Dick)", table)
print(table)
