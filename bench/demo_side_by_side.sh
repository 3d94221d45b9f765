#!/usr/bin/env bash
# The `xrisk demo` protocol in xrisk and LibAUC 2.0.1 (PyTorch CPU), 3 seeds each, written into
# BENCHMARKS.md. Usage: bench/demo_side_by_side.sh [--seeds 2023,2024,2025] [--epochs 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -p xrisk-cli
py=$("$root/conformance/setup_peer.sh")
"$py" bench/demo_side_by_side.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" "$@"
