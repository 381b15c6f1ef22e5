#!/usr/bin/env bash
# Load benchmark of frontdoor-upstream (by hand, not part of `cargo test`).
#
# Starts a hyper upstream (13-byte and 1 MiB answers), the frontdoor proxy stack and
# nginx (2 workers, proxy_pass + upstream keepalive) on loopback, drives each with wrk
# (64 connections for 13 B, 16 for 1 MiB) and prints requests/s, p50/p99 and MB/s with
# ratios against nginx.
#
#   DURATION=10 benches/load/upstream.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx
fi
# nginx's Debian package starts a system instance; it is not used here.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-upstream}" \
    cargo build --release -p frontdoor-benches --bin upstream-load
"${CARGO_TARGET_DIR:-target-upstream}/release/upstream-load"
