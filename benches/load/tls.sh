#!/usr/bin/env bash
# Load benchmark of TLS termination (by hand, not part of `cargo test`).
#
# Generates an ECDSA P-256 CA and certificate for localhost with openssl, then runs the
# `tls-load` binary: the benchmark upstream (13-byte answers), frontdoor (2 workers,
# a TLS listener in front of the proxy stack) and nginx (2 workers, `listen ssl`,
# proxy_pass with upstream keepalive), both serving that same certificate, all on
# loopback. wrk drives each over HTTPS, in alternation, for small responses on
# keep-alive connections and with a new connection (a full handshake) per request,
# and it prints requests/s and p50/p99 with ratios against nginx from the same run.
# Everything it starts (nginx, the servers in the binary) is stopped at the end; the
# certificate directory is removed.
#
#   ROUNDS=3 DURATION=10 benches/load/tls.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=""
command -v wrk >/dev/null || missing="$missing wrk"
command -v nginx >/dev/null || missing="$missing nginx"
command -v openssl >/dev/null || missing="$missing openssl"
if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
# nginx's Debian package starts a system instance; it is not used here.
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
# A private CA and a leaf for localhost it signs (a self-signed `req -x509` certificate
# is a CA certificate, which webpki refuses as a server's).
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 \
    -subj "/CN=frontdoor bench CA" 2>/dev/null
openssl req $ec -keyout "$dir/key.pem" -out "$dir/leaf.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$dir/leaf.ext"
openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/leaf.ext" -out "$dir/cert.pem" 2>/dev/null
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-upstream}" \
    cargo build --release -p frontdoor-benches --bin tls-load
CERT="$dir/cert.pem" KEY="$dir/key.pem" CA="$dir/ca.pem" \
    "${CARGO_TARGET_DIR:-target-upstream}/release/tls-load"
