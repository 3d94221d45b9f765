#!/usr/bin/env bash
# Regenerates every conformance vector from the peer (LibAUC 2.0.1 on PyTorch, scikit-learn)
# and writes them under conformance/vectors/ and conformance/eval/. The JSON is committed, so
# `cargo test` needs no Python.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=$("$here/setup_peer.sh")
"$py" "$here/gen_metrics.py" "$here"
"$py" "$here/gen_losses.py" "$here"
"$py" "$here/gen_optim.py" "$here"
"$py" "$here/gen_losses_multilabel.py" "$here"
"$py" "$here/gen_losses_ranking.py" "$here"
"$py" "$here/gen_mil_xc.py" "$here"
"$py" "$here/gen_contrastive.py" "$here"
