#!/usr/bin/env bash
# Times AUROC and AP on 1M and 10M scores in xrisk and scikit-learn, in one run, and writes
# the table into BENCHMARKS.md. Usage: bench/metrics.sh [--sizes 1000000,10000000] [--repeat 5]
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
OMP_NUM_THREADS=2 "$py" bench/metrics.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
