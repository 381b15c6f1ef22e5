#!/usr/bin/env bash
# Soak test of the frontdoor binary (by hand, not part of `cargo test`).
#
# Builds the release `frontdoor` binary and the `soak` client, then sends one
# million requests through the binary to a hyper upstream on loopback, half of the
# connections carrying one request and the others 2 to 64 (keep-alive), and checks
# that there was no error and that the proxy's resident memory grew by less than
# 10% after the warm-up (the first 100,000 requests). Prints one markdown row for
# benches/load/RESULTS.md and exits non-zero on failure. Stops by itself after
# MAX_SECS (default 1200).
#
#   REQUESTS=1000000 CONCURRENCY=32 benches/load/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-upstream}"
cargo build --release -p frontdoor-cli --bin frontdoor
cargo build --release -p frontdoor-benches --bin soak
FRONTDOOR="$CARGO_TARGET_DIR/release/frontdoor" "$CARGO_TARGET_DIR/release/soak"
