#!/usr/bin/env bash
# Data-parallel scaling on this machine (issue 10): 1 process vs 2 processes over loopback,
# steps/s and bytes exchanged per step; writes the table into BENCHMARKS.md. No Python peer and
# no download needed (embedded Fashion-MNIST). Extra arguments go to bench/distributed.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --workspace --quiet
python3 bench/distributed.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
