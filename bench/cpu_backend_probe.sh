#!/usr/bin/env bash
# Can burn 0.22's `cpu` backend (CubeCL's LLVM/MLIR JIT, the alternative to `flex` that issue 8
# asks to measure) be built here? Builds a scratch crate that depends on cubecl-cpu 0.11.3 (what
# burn's `cpu` feature pulls in) and prints the outcome. On machines that reach only the package
# registries it fails: cubecl-cpu's build dependency tracel-llvm-bundler downloads a prebuilt
# LLVM/MLIR 23 bundle from github.com at build time. Takes a few minutes (it compiles the
# dependencies first).
set -uo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<'TOML'
[package]
name = "cpu-backend-probe"
version = "0.1.0"
edition = "2024"
[dependencies]
cubecl-cpu = "=0.11.3"
TOML
echo 'fn main() {}' > "$work/src/main.rs"
if (cd "$work" && cargo build --quiet 2> build.log); then
  echo "burn's cpu backend builds here: measure it against flex (swap Device::flex() for Device::cpu() behind burn's cpu feature)"
else
  echo "burn's cpu backend does not build here; the first error:"
  grep -m1 -A12 "failed to run custom build command\|^error" "$work/build.log" | grep -v "^  *[0-9]*: \|at /rustc" | head -14
  exit 1
fi
