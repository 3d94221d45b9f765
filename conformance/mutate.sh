#!/usr/bin/env bash
# Mutation check of the kernels' conformance tests: drops one rule at a time from the source of
# crates/xrisk-kernels (a moving average, a duplicate-id rule, a threshold update, a clamp, a
# derivative factor, the vector loop's tail or its blocks, the exp polynomial, …), runs the
# conformance tests against the committed LibAUC vectors, and expects them to FAIL. A mutation
# the tests do not notice is a hole in the conformance suite. Each source file is restored
# after its mutation (also on Ctrl-C). Usage: conformance/mutate.sh   (about 1 minute a mutation)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
src=crates/xrisk-kernels/src
tests=(--test conformance_losses --test conformance_ranking --test conformance_mil_xc
  --test conformance_contrastive)

# file | exact text | its replacement | the rule dropped   (no '|' inside the texts)
mutations=(
  "ap.rs|let g = s.gamma;|let g = 1.0;|SOAP's moving average (u ← (1−γ)u + γ·batch)"
  "ap.rs|let (ua, up) = (f64::from(tables.u_all[id]), f64::from(tables.u_pos[id]));|let (ua, up) = (r.a64, r.b64);|duplicate ids read the kept (last) entry"
  "pauc_dro.rs|let g = c.gamma;|let g = 1.0;|pAUC-DRO's moving average"
  "pauc_cvar.rs|self.s[id] = (f64::from(r.s) - c.eta * (1.0 - frac)) as f32;|self.s[id] = r.s;|pAUC-CVaR's threshold update"
  "tpauc_kl.rs|self.w = (1.0 - g1) * self.w + g1 * mean_pow;|self.w = mean_pow;|tpAUC-KL's moving average of w"
  "tpauc_cvar.rs|.clamp(0.0, 1.0)||tpAUC-CVaR's projection of the dual variable"
  "surrogate.rs|let d = (self.0 - t).max(0.0);\n        (d * d, -2.0 * d)|let d = (self.0 - t).max(0.0);\n        (d * d, -d)|the squared hinge's derivative factor 2"
  "simd.rs|p = p * r + 0.5;|p = p * r + 0.51;|exp's polynomial (a 2 % error in one coefficient)"
  "simd.rs|        *cj += f64::from(c);\n|\n|the column terms of the vector loop's tail"
  "simd.rs|        wide[l] += f64::from(acc[l]);|        wide[l] += 0.0 * f64::from(acc[l]);|the vector loop's blocks (rows longer than 64)"
  "simd.rs|    (x + r + k * -2.121_944_4e-4) + k * 0.693_359_4|    (x + r + k * -2.121_944_4e-4) + k * 0.69|ln(1 + e)'s ln 2 term (the logistic surrogate)"
  "gcl.rs|        let gt = &self.gt;|        let gt = &vec![0.0f32; b * b];|SogCLR's second-view gradient of ab (the transposed rows)"
  "gcl.rs|                e(&row[..i]) + e(&row[i + 1..])|                e(row)|SogCLR's exclusion of the positive pair from the negatives"
  "ndcg.rs|u: f64::from(self.u[id]) * (1.0 - c.gamma0) + g * c.gamma0,|u: g,|SONG's moving average of u"
  "listwise_ce.rs|let (lg1, lg) = ((1.0 - c.gamma).ln(), c.gamma.ln());|let (lg1, lg) = (f64::NEG_INFINITY, 0.0);|ListwiseCE's moving average"
)

current=""
restore() { if [ -n "$current" ]; then cp "$current.mutate-backup" "$current" && rm -f "$current.mutate-backup"; current=""; fi; }
trap restore EXIT INT TERM

cargo build --release --quiet -p xrisk-kernels --tests
missed=0
for m in "${mutations[@]}"; do
  IFS='|' read -r file from to what <<<"$m"
  path=$src/$file
  cp "$path" "$path.mutate-backup"
  current=$path
  python3 - "$path" "$from" "$to" <<'EOF'
import sys
path, old, new = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n")
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"{path}: the text to mutate occurs {text.count(old)} times (the source changed; update mutate.sh): {old!r}")
open(path, "w").write(text.replace(old, new))
EOF
  if ! cargo test --release --quiet -p xrisk-kernels "${tests[@]}" --no-run >/dev/null 2>&1; then
    echo "BROKEN  $file: $what (the mutated source does not compile; update mutate.sh)"
    missed=$((missed + 1))
  elif cargo test --release --quiet -p xrisk-kernels "${tests[@]}" >/dev/null 2>&1; then
    echo "MISSED  $file: $what"
    missed=$((missed + 1))
  else
    echo "caught  $file: $what"
  fi
  restore
done
echo "$missed of ${#mutations[@]} mutations went unnoticed"
[ "$missed" -eq 0 ]
