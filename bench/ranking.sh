#!/usr/bin/env bash
# Ranking side by side (xrisk vs LibAUC 2.0.1) on MovieLens-100k; writes the table into
# BENCHMARKS.md. Needs the data once: `xrisk data fetch movielens-100k` (in $XRISK_DATA_DIR,
# default ~/.cache/xrisk/data); the MSLR-WEB10K subset rows need `xrisk data fetch mslr10k-subset`.
# Extra arguments go to bench/ranking.py (e.g. --seeds 0).
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
inter="$data/movielens-100k/recbole/dataset_example/ml-100k/ml-100k.inter"
need "$inter" movielens-100k
mslr="$data/mslr10k-subset/rankeval-0.8.2/rankeval/test/data"
extra=()
if [ -f "$mslr/msn1.fold1.train.5k.txt" ]; then extra=(--mslr "$mslr"); else
  echo "mslr10k-subset not fetched: MSLR rows skipped (\`xrisk data fetch mslr10k-subset\`)" >&2; fi
"$py" bench/ranking.py --xrisk "$root/target/release/xrisk" --inter "$inter" --out "$root/BENCHMARKS.md" "${extra[@]}" "$@"
