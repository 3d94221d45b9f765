#!/usr/bin/env bash
# The three convolution kernels of a ResNet20 training step (forward, input gradient, weight
# gradient) in xrisk (its own kernels), burn-flex and PyTorch, on 1 and 2 threads; writes the table into
# BENCHMARKS.md. Extra arguments go to bench/conv.py (e.g. --runs 1).
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
"$py" bench/conv.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
