#!/usr/bin/env bash
# Multi-label side by side (xrisk vs LibAUC 2.0.1 / PyTorch) on Yeast; writes the table into
# BENCHMARKS.md. Needs the data once: `xrisk data fetch yeast` (in $XRISK_DATA_DIR, default
# ~/.cache/xrisk/data). Extra arguments go to bench/multilabel.py (e.g. --seeds 0).
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
yeast="$data/yeast/river/datasets/yeast.csv.gz"
need "$yeast" yeast
"$py" bench/multilabel.py --xrisk "$root/target/release/xrisk" --yeast "$yeast" --out "$root/BENCHMARKS.md" "$@"
