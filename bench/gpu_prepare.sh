#!/usr/bin/env bash
# Prepares the GPU run (issue 8, part 3) on a machine WITH network access (the GPU machine has
# no Rust toolchain and no network): builds xrisk with the CUDA backend into target/cuda (burn's
# cuda feature needs no CUDA toolkit: kernels are compiled at run time by NVRTC; but cubecl-cuda
# 0.11's build script downloads an LLVM/MLIR bundle, tracel-llvm 23.1.0-4, from github.com into
# ~/.local/share/tracel/ — a machine that reaches only the package registries fails there, as
# bench/cpu_backend_probe.sh shows for the cpu backend; once that folder exists, builds work
# offline),
# downloads the LibAUC 2.0.1 wheel, and copies both — with MovieLens-100k if fetched — into
# .gpu/ (git-ignored; carry it to the GPU machine, about 30 MB). Then, on the GPU machine:
#   bench/gpu.sh                         # writes $OUT/gpu.md (or ./gpu.md without $OUT)
# and back here: bench/gpu.sh --record PATH/gpu.md   # splices it into BENCHMARKS.md
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --workspace --features xrisk-cli/cuda --target-dir target/cuda
rm -rf .gpu && mkdir -p .gpu/wheels
cp target/cuda/release/xrisk .gpu/xrisk
python3 -m pip download --quiet --no-deps --only-binary=:all: -d .gpu/wheels libauc==2.0.1
data=${XRISK_DATA_DIR:-$HOME/.cache/xrisk/data}
inter="$data/movielens-100k/recbole/dataset_example/ml-100k/ml-100k.inter"
if [ -f "$inter" ]; then cp "$inter" .gpu/ml-100k.inter; else echo "no MovieLens-100k: the NeuMF rows will be skipped" >&2; fi
du -sh .gpu
