#!/usr/bin/env bash
# Regenerates the command outputs shown in docs/*.md (between `<!-- generated:NAME start` and
# `<!-- generated:NAME end -->`) by running the documented commands with the release binary.
# Needs only Rust (and python3's standard library to splice the text).   docs/generate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
X="$PWD/target/release/xrisk"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"

# docs/auc.md: the AP + SOAP run.
mkdir -p "$work/auc"
(cd "$work/auc" && "$X" train --config "$OLDPWD/examples/ap_soap.toml" --epochs 3 --out runs/ap \
  >"$work/out/ap_soap" 2>&1)

# docs/runs.md: a run killed with SIGKILL in its second epoch, resumed, compared with an
# uninterrupted run of the same config.
sed -e 's/hidden = \[128\]/hidden = [512, 512]/' -e 's/^epochs = 20/epochs = 3\nthreads = 1/' \
  examples/ap_soap.toml >"$work/run.toml"
cd "$work"
"$X" train --config run.toml --out runs/whole --checkpoint-every 20 >/dev/null 2>&1
"$X" train --config run.toml --out runs/ap --checkpoint-every 20 >/dev/null 2>&1 &
pid=$!
while [ "$(cat runs/ap/metrics.jsonl 2>/dev/null | wc -l)" -lt 1 ]; do sleep 0.05; done
sleep 0.5
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
{
  echo "\$ xrisk train --config run.toml --out runs/ap --checkpoint-every 20"
  echo "… killed with SIGKILL during epoch 2 …"
  echo "\$ xrisk train --resume runs/ap"
  "$X" train --resume runs/ap 2>&1
  echo "\$ cmp runs/ap/metrics.jsonl runs/whole/metrics.jsonl && cmp runs/ap/checkpoint.bin runs/whole/checkpoint.bin && echo identical"
  cmp runs/ap/metrics.jsonl runs/whole/metrics.jsonl && cmp runs/ap/checkpoint.bin runs/whole/checkpoint.bin && echo identical
} >"$work/out/resume"
cd "$OLDPWD"

# docs/bilevel.md: the default bilevel run (the table goes to stdout; progress to stderr).
(cd "$work" && "$X" bilevel --out runs/bilevel >"$work/out/bilevel" 2>/dev/null)

# docs/mil.md: MIDAM with attention pooling on musk1 (needs `xrisk data fetch mil`).
if "$X" train --config examples/mil/musk1_midam_att.toml --epochs 10 >"$work/out/mil_musk1.raw" 2>&1; then
  { echo "\$ xrisk train --config examples/mil/musk1_midam_att.toml --epochs 10"; cat "$work/out/mil_musk1.raw"; } >"$work/out/mil_musk1"
else
  echo "skipping docs/mil.md: $(tail -1 "$work/out/mil_musk1.raw")" >&2
  rm -f "$work/out/mil_musk1.raw"
fi

# docs/ranking.md: what the synthetic probe tests print.
cargo test --release --workspace --quiet --test ranking_probe -- --nocapture --test-threads 1 2>&1 \
  | grep -oE '(test NDCG|full NDCG).*' >"$work/out/ranking_probe"

python3 - "$work/out" <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
for doc in pathlib.Path("docs").glob("*.md"):
    text = doc.read_text()
    def splice(m):
        name = m.group(1)
        if not (out / name).exists():  # a step that was skipped (data not fetched): keep the old text
            return m.group(0)
        body = (out / name).read_text().rstrip("\n")
        return f"{m.group(0).splitlines()[0]}\n```text\n{body}\n```\n<!-- generated:{name} end -->"
    new = re.sub(r"<!-- generated:(\w+) start[^\n]*\n.*?<!-- generated:\1 end -->", splice, text, flags=re.S)
    if new != text:
        doc.write_text(new)
        print(f"updated {doc}")
PY
