#!/usr/bin/env bash
# MIL side by side (xrisk vs LibAUC 2.0.1 / PyTorch): MIDAM and pooled-CE baselines on musk1,
# musk2 and elephant; writes the table into BENCHMARKS.md. Needs the data once:
# `xrisk data fetch mil` (in $XRISK_DATA_DIR, default ~/.cache/xrisk/data).
# Extra arguments go to bench/mil.py (e.g. --seeds 0 --epochs 20).
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
mil="$data/mil/mil/data/datasets/csv"
need "$mil/musk1.csv" mil
"$py" bench/mil.py --xrisk "$root/target/release/xrisk" --mil-dir "$mil" --out "$root/BENCHMARKS.md" "$@"
