#!/usr/bin/env bash
# GPU side by side (issue 8, part 3), on an NVIDIA machine, in under 8 minutes: the same
# AUCM + PESG ResNet20 steps and SONG NeuMF steps as bench/models.py, in xrisk (CUDA backend,
# `[train] device = "cuda"`) and in LibAUC 2.0.1 / PyTorch on the GPU. Needs .gpu/ from
# bench/gpu_prepare.sh (the machine has no Rust toolchain and no network) and a python3 with
# torch (CUDA). Writes gpu.md into $OUT (or the current folder): the table with the date.
#   bench/gpu.sh --record FILE   # here, afterwards: puts FILE's table into BENCHMARKS.md
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "${1:-}" = "--record" ]; then
  python3 - "$2" "$root/BENCHMARKS.md" <<'PY'
import sys
sys.path.insert(0, "bench")
from common import write_block
write_block(sys.argv[2], "gpu", "bench/gpu.sh", "GPU (NVIDIA H200): ResNet20 and NeuMF steps", open(sys.argv[1]).read().strip())
PY
  exit 0
fi
[ -x .gpu/xrisk ] || { echo "run bench/gpu_prepare.sh first (on a machine with the registries)" >&2; exit 1; }
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/wheels/*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
out=${OUT:-.}
timeout 450 python3 bench/gpu.py --xrisk .gpu/xrisk --images crates/xrisk-data/data \
  --movielens .gpu/ml-100k.inter --out "$out/gpu.md" 2>&1 | tee "$out/gpu.log"
