#!/usr/bin/env bash
# The X-risk kernels alone (crates/xrisk-kernels/benches/kernels.rs, criterion), on 1 and 2
# threads: ns per pair beside the floor of one plain loop over the same pairs. Writes the table
# into BENCHMARKS.md. Extra arguments go to bench/kernels.py (e.g. --seconds 1). Needs no
# data set and no Python packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python3 bench/kernels.py --out "$root/BENCHMARKS.md" "$@"
