#!/usr/bin/env bash
# User-space instructions per proxied request (by hand, not part of `cargo test`).
#
# Runs the `proxy-cost` binary under valgrind's callgrind twice, against the upstream
# directly and through the proxy, and prints the difference per request. Instruction
# counts do not swing with the load of a shared machine the way times do, so this is
# the number to compare before and after a change to the request path. The callgrind
# profile of the proxy run is left in target-cost/callgrind.proxy for
# `callgrind_annotate --inclusive=yes`.
#
#   N=20000 benches/load/proxy_cost.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v valgrind >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-upstream}"
cargo build --release -p frontdoor-benches --bin proxy-cost
bin="$CARGO_TARGET_DIR/release/proxy-cost"
out=target-cost
mkdir -p "$out"
n="${N:-20000}"
total() {
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$1" "$bin" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
direct=$(N="$n" TARGET=direct total direct)
proxy=$(N="$n" TARGET=proxy total proxy)
echo "instructions, direct: $direct; through the proxy: $proxy"
echo "proxy user-space instructions per request: $(( (proxy - direct) / n ))"
