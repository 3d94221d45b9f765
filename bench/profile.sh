#!/usr/bin/env bash
# Where the time goes (issue 8): `perf record` on three xrisk workloads — SONG with NeuMF on
# MovieLens-100k (if fetched), AUCM + PESG with ResNet20 on Fashion-MNIST, and the AP + SOAP
# loss + optimizer step at batch 1024 — grouped into categories (matmul, convolution, random
# numbers, copies, kernel/page faults, allocator, element-wise, gather/scatter, …); writes the
# table into BENCHMARKS.md. Needs `perf` (linux-perf) with perf_event_paranoid ≤ 2.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
cargo build --release --workspace --quiet
data=${XRISK_DATA_DIR:-$HOME/.cache/xrisk/data}
python3 bench/perf_profile.py --xrisk "$root/target/release/xrisk" --out "$root/BENCHMARKS.md" \
  --images "$root/crates/xrisk-data/data" \
  --movielens "$data/movielens-100k/recbole/dataset_example/ml-100k/ml-100k.inter" "$@"
