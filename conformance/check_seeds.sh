#!/usr/bin/env bash
# Reruns the loss generators with other input seeds (float32 and float64, into a temporary
# folder) and the conformance tests against those vectors, directly on the kernels
# (xrisk-kernels) and through the burn losses (xrisk), so that no tolerance holds by the luck
# of the committed draw. Usage: conformance/check_seeds.sh [SEED …]   (default: 1 2 3 4 5)
# Prints one line per seed and test target; exits 1 when any fails. XRISK_SEEDS_KEEP=DIR keeps
# the vectors in DIR instead of a temporary folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
py=$("$here/setup_peer.sh")
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5)
work=${XRISK_SEEDS_KEEP:-$(mktemp -d)}
mkdir -p "$work"
gens=(gen_losses gen_losses_multilabel gen_losses_ranking gen_mil_xc gen_contrastive)
cd "$root"
cargo build --release --quiet -p xrisk-kernels -p xrisk --tests
status=0
for seed in "${seeds[@]}"; do
  out=$work/seed-$seed
  mkdir -p "$out"
  for g in "${gens[@]}"; do
    "$py" "$here/$g.py" "$out" --seed "$seed" >/dev/null
    "$py" "$here/$g.py" "$out" --seed "$seed" --f64 >/dev/null
  done
  for target in "xrisk-kernels conformance_losses" "xrisk-kernels conformance_ranking" \
    "xrisk-kernels conformance_mil_xc" "xrisk-kernels conformance_contrastive" \
    "xrisk conformance_losses" "xrisk conformance_ranking" "xrisk conformance_mil_xc" \
    "xrisk conformance_contrastive"; do
    set -- $target
    log=$out/$1-$2.log
    if XRISK_VECTORS_DIR=$out/vectors cargo test --release --quiet -p "$1" --test "$2" \
      -- --nocapture >"$log" 2>&1; then
      echo "seed $seed  $1 $2: pass"
    else
      echo "seed $seed  $1 $2: FAIL (see $log)"
      grep -E "differ|panicked" "$log" | head -5 || true
      status=1
    fi
  done
done
[ -n "${XRISK_SEEDS_KEEP:-}" ] || rm -rf "$work"
exit $status
