#!/usr/bin/env bash
# The `xrisk demo` protocol in xrisk and LibAUC 2.0.1 (PyTorch CPU), 3 seeds each, written into
# BENCHMARKS.md. Usage: bench/demo_side_by_side.sh [--seeds 2023,2024,2025] [--epochs 20]
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
"$py" bench/demo_side_by_side.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
