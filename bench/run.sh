#!/usr/bin/env bash
# The whole benchmark suite in one command: every bench/*.sh script in turn, each writing its
# tables into BENCHMARKS.md, then the machine and versions they ran on. Scripts whose data set
# is not fetched are skipped with a message (fetch it with `xrisk data fetch NAME`).
# Usage: bench/run.sh [--quick]   (--quick: one seed / one run per cell where a script allows)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
data=${XRISK_DATA_DIR:-$HOME/.cache/xrisk/data}
run() {
  local name=$1; shift
  echo "== bench/$name.sh $*" >&2
  "bench/$name.sh" "$@" >/dev/null
}
have() { [ -e "$data/$1/.xrisk-complete" ]; }
seeds=(); runs=()
if [ "$quick" = 1 ]; then seeds=(--seeds 0); runs=(--runs 1); fi
run metrics
run steps "${runs[@]}"
run kernels
run python
run demo_side_by_side
run bilevel
if have protein-kddcup04; then run models "${runs[@]}"; else echo "skip models: xrisk data fetch protein-kddcup04" >&2; fi
run conv "${runs[@]}"
if have movielens-100k; then run ranking "${seeds[@]}"; else echo "skip ranking: xrisk data fetch movielens-100k" >&2; fi
if have mil; then run mil "${seeds[@]}"; else echo "skip mil: xrisk data fetch mil" >&2; fi
if have yeast; then run multilabel "${seeds[@]}"; else echo "skip multilabel: xrisk data fetch yeast" >&2; fi
if have letter; then run xc "${seeds[@]}"; else echo "skip xc: xrisk data fetch letter" >&2; fi
if have fashion-mnist && have text-corpora; then run contrastive "${seeds[@]}"; else echo "skip contrastive: xrisk data fetch fashion-mnist text-corpora" >&2; fi
if have text-corpora; then run tempnet_lm "${seeds[@]}"; else echo "skip tempnet_lm: xrisk data fetch text-corpora" >&2; fi
run distributed "${runs[@]}"
if command -v perf >/dev/null; then run profile; else echo "skip profile: perf is not installed" >&2; fi
# The machine, written last so that it describes this run.
python3 - "$root/BENCHMARKS.md" <<'PY'
import os, platform, re, subprocess, sys
path = sys.argv[1]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
block = (f"Last full run of `bench/run.sh`: {cpu}, {os.cpu_count()} cores, {mem} GiB; {platform.system()} "
         f"{platform.release()}; {rustc}; the Python peer in conformance/requirements.txt.")
start, end = "<!-- machine:start (bench/run.sh; do not edit) -->", "<!-- machine:end -->"
text = open(path).read()
new = f"{start}\n{block}\n{end}"
if start in text:
    a, b = text.index(start), text.index(end) + len(end)
    text = text[:a] + new + text[b:]
else:
    text = text.replace("rerun it to reproduce.\n", "rerun it to reproduce.\n\n" + new + "\n", 1)
open(path, "w").write(text)
PY
echo "BENCHMARKS.md updated" >&2
