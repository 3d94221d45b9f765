#!/usr/bin/env bash
# Many-class side by side (xrisk vs LibAUC 2.0.1): SCENT vs SOX (and full softmax) on Letter
# and on 10,000 synthetic classes; writes the table into BENCHMARKS.md. Needs the data once:
# `xrisk data fetch letter` (in $XRISK_DATA_DIR, default ~/.cache/xrisk/data).
# Extra arguments go to bench/xc.py (e.g. --seeds 0).
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
letter="$data/letter/usr/share/doc/opencv-doc/examples/data/letter-recognition.data"
need "$letter" letter
"$py" bench/xc.py --xrisk "$root/target/release/xrisk" --letter "$letter" --out "$root/BENCHMARKS.md" "$@"
