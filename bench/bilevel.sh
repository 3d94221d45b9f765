#!/usr/bin/env bash
# The BSVRB hyper-parameter-optimization experiment on a8a (m = 100, I = 10, B = 32) with
# v1, v2, RSVRB and the moving-average ablation, 3 seeds, and sweeps over I and B; writes the
# tables into BENCHMARKS.md. Needs only Rust and python3 (standard library).
# Usage: bench/bilevel.sh [--epochs 10] [--seeds 0,1,2] [--sweep-iters 300]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --workspace --quiet
python3 bench/bilevel.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
