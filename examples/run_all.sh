#!/usr/bin/env bash
# Runs every example config under examples/ and keeps each run's metrics.jsonl, so that a change
# can show what it did (or did not) change in the results:
#
#   examples/run_all.sh OUT_DIR [xrisk train options…]     e.g. --epochs 2
#   examples/compare.py BEFORE_DIR AFTER_DIR                 per example: identical or how far apart
#
# Examples whose data set is not fetched (`xrisk data fetch NAME`, see `xrisk data list`) are
# listed as skipped. OUT_DIR/<config path>/ holds the run folder; OUT_DIR/runs.tsv one line per
# config (status, seconds). XRISK=path/to/xrisk runs that binary instead of building this checkout's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: examples/run_all.sh OUT_DIR [xrisk train options]}
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"
if [ -z "${XRISK:-}" ]; then
  cargo build --release -p xrisk-cli --quiet
fi
xrisk=${XRISK:-$root/target/release/xrisk}
: > "$out/runs.tsv"
while IFS= read -r cfg; do
  name=${cfg#examples/}
  name=${name%.toml}
  dir=$out/$name
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  start=$(date +%s.%N)
  if err=$("$xrisk" train --config "$cfg" --out "$dir" "$@" 2>&1 >/dev/null); then
    status=ok
  elif grep -q "xrisk data fetch" <<<"$err"; then
    status=skipped
  else
    status=failed
    printf '%s failed:\n%s\n' "$cfg" "$err" >&2
  fi
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%s\t%s\t%.1f\n' "$name" "$status" "$secs" | tee -a "$out/runs.tsv"
done < <(find examples -name '*.toml' | sort)
! grep -q $'\tfailed\t' "$out/runs.tsv"
