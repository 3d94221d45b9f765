# Sourced by the side-by-side bench scripts: builds xrisk, sets up the Python peer and names
# the data cache. Sets: root (the repository), py (the peer's python), data (the data cache).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --release --workspace --quiet
py=$(conformance/setup_peer.sh)
data=${XRISK_DATA_DIR:-$HOME/.cache/xrisk/data}
# need FILE NAME: stops with the fetch command when data set NAME's FILE is missing.
need() {
  if [ ! -f "$1" ]; then
    echo "$2 is not in $data: run \`xrisk data fetch $2\` first" >&2
    exit 1
  fi
}
