#!/usr/bin/env bash
# Contrastive experiments of issue 5 (examples/contrastive/*.toml), 3 seeds each:
#  - unimodal: long-tailed Fashion-MNIST, SimCLR (NT-Xent) vs SogCLR vs iSogCLR (+ the untrained
#    encoder as a floor), linear-evaluation top-1 overall and on the five rarest classes, and
#    iSogCLR's learned τ per class;
#  - bimodal: SpamAssassin subject ↔ body, CLIP vs SogCLR vs iSogCLR vs TempNet, R@1/R@5 both ways.
# Writes the tables between the contrastive-unimodal / contrastive-bimodal markers of
# BENCHMARKS.md. Needs `xrisk data fetch fashion-mnist` and `xrisk data fetch text-corpora`; no
# Python peer (LibAUC's GCLoss needs a GPU-sized training run to compare, see BENCHMARKS.md).
# Extra arguments go to bench/contrastive.py (e.g. --seeds 1 --only bimodal).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --workspace --quiet
data=${XRISK_DATA_DIR:-$HOME/.cache/xrisk/data}
for d in fashion-mnist text-corpora; do
  if [ ! -e "$data/$d/.xrisk-complete" ]; then
    echo "$d is not in $data: run \`xrisk data fetch $d\` first" >&2
    exit 1
  fi
done
python3 bench/contrastive.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
