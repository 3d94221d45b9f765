#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 600), one after the other, and
# prints a summary line per target. Needs a nightly toolchain and `cargo install cargo-fuzz`.
# Crashes land in fuzz/artifacts/<target>/; turn each into a regression test (see
# crates/xrisk-data/tests/fuzz_regressions.rs) before fixing it.
#   fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  start=$(date +%s)
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
    >"logs-$t.txt" 2>&1
  rc=$?
  end=$(date +%s)
  runs=$(grep -ao "Done [0-9]* runs" "logs-$t.txt" | tail -1 | tr -dc 0-9)
  echo "$t: exit $rc after $((end - start)) s, ${runs:-?} executions, corpus $(ls "corpus/$t" | wc -l) inputs"
done
