#!/usr/bin/env bash
# Creates (once) the Python virtual environment of the peer: PyTorch, LibAUC 2.0.1 and
# scikit-learn. Prints the path of its python. The environment lives in $XRISK_PEER_VENV
# (default: .cache/peer-venv at the repository root, ignored by git); pip's cache is reused,
# so the large torch wheel is downloaded once per machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${XRISK_PEER_VENV:-$root/.cache/peer-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import libauc, sklearn, torch, pyarrow' 2>/dev/null; then
  echo "setting up the Python peer in $venv (torch is large: this takes a while once)" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q -r "$root/conformance/requirements.txt" >&2
  "$venv/bin/pip" install -q --no-deps libauc==2.0.1 >&2
fi
echo "$venv/bin/python"
