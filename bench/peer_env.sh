# Sourced by the side-by-side bench scripts: builds xrisk, sets up the Python peer and names
# the data cache. Sets: root (the repository), py (the peer's python), data (the data cache).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --release --workspace --quiet
py=$(conformance/setup_peer.sh)
data=${XRISK_DATA_DIR:-$HOME/.cache/xrisk/data}
