#!/usr/bin/env bash
# The X-risk loss + optimizer step alone, xrisk vs LibAUC 2.0.1: every loss at batch 64–1024
# on 1 and 2 threads, and AP + SOAP against the state size N = 10^3 … 10^7 (time and peak
# memory). Writes the tables into BENCHMARKS.md. Extra arguments go to bench/steps.py
# (e.g. --runs 1). Needs no data set.
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
"$py" bench/steps.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
