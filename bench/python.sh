#!/usr/bin/env bash
# The Python package against LibAUC 2.0.1 in one PyTorch process (bench/python.py): every loss's
# forward + backward + optimizer step at batch 64/256/1024, an MLP and a ResNet20 training step,
# the metrics vs scikit-learn; 1 and 2 threads. Installs ./python into the peer's environment
# first. Writes the tables into BENCHMARKS.md. Extra arguments go to bench/python.py.
set -euo pipefail
. "$(dirname "$0")/peer_env.sh"
"$py" -m pip install -q --force-reinstall --no-deps "$root/python"
"$py" bench/python.py --out "$root/BENCHMARKS.md" "$@"
