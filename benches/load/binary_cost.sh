#!/usr/bin/env bash
# User-space instructions per proxied request of the release `frontdoor` binary
# itself, under valgrind's callgrind (by hand, not part of `cargo test`; issue 16).
#
# Instruction counts do not move with the load of a shared machine, so this is the
# figure to compare two builds of the request path with. It runs the binary twice
# under callgrind with the same config (stack/one-route.toml, or CONFIG, whose
# `@UPSTREAM@` it fills in) in front of the benchmark upstream (`stack-upstream`),
# sends N1 and then N2 keep-alive requests over 8 connections with `ab -k` (with
# `X-Forwarded-For`, as stack.sh's wrk does), and prints (N2 run - N1 run) / (N2 - N1):
# start-up and shutdown cancel out. `proxy_cost.sh` measures `serve::Workers` with
# the upstream client inside a bench binary instead; this one counts everything the
# binary does per request (resolver, router, cleanup, access log, metrics).
#
#   benches/load/binary_cost.sh
#   CONFIG=my.toml URL_PATH=/app KEEP_PROFILE=cg.out benches/load/binary_cost.sh
# Environment (defaults): N1 (2000), N2 (12000), CONFIG
# (benches/load/stack/one-route.toml), URL_PATH (/app), FRONTDOOR (a prebuilt
# binary instead of building this tree's), KEEP_PROFILE (copy the N2 run's
# callgrind profile there, for callgrind_annotate), KEEP=1 (keep the temporary
# directory).
set -euo pipefail
cd "$(dirname "$0")/../.."

N1=${N1:-2000}
N2=${N2:-12000}
CONFIG=${CONFIG:-benches/load/stack/one-route.toml}
URL_PATH=${URL_PATH:-/app}
# shellcheck source=benches/load/common.sh
source benches/load/common.sh
command -v valgrind >/dev/null || { say "needs valgrind (apt-get install valgrind)"; exit 2; }
command -v ab >/dev/null || { say "needs ab (apt-get install apache2-utils)"; exit 2; }

build_binaries stack-upstream

DIR=$(mktemp -d /tmp/frontdoor-cost.XXXXXX)
stop_on_exit

"$bin/stack-upstream" >"$DIR/upstream.out" &
pids+=("$!")
wait_for "$DIR/upstream.out" control "$!"
read -r _ UPSTREAM _ _ <"$DIR/upstream.out"
sed "s|@UPSTREAM@|$UPSTREAM|g" "$CONFIG" >"$DIR/frontdoor.toml"

# run N: the binary under callgrind, N requests; prints its instruction count.
run() {
    local n=$1 vg
    valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.$n" \
        "$FRONTDOOR" serve --config "$DIR/frontdoor.toml" >"$DIR/fd.$n.out" 2>"$DIR/fd.$n.err" &
    vg=$!
    wait_for "$DIR/fd.$n.out" "^frontdoor listening on" "$vg" 60
    local port
    port=$(sed -n 's|^frontdoor listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$DIR/fd.$n.out" | head -1)
    ab -q -k -n "$n" -c 8 -H "X-Forwarded-For: 203.0.113.9" "http://127.0.0.1:$port$URL_PATH" >"$DIR/ab.$n" 2>&1
    if ! grep -q "Failed requests: *0" "$DIR/ab.$n" || grep -q "Non-2xx" "$DIR/ab.$n"; then
        say "requests failed:"
        tail -20 "$DIR/ab.$n" >&2
        kill -INT "$vg"
        return 1
    fi
    kill -INT "$vg"
    wait "$vg" || true
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$DIR/fd.$n.err"
}

say "$FRONTDOOR ($CONFIG): $N1 and $N2 requests under callgrind"
a=$(run "$N1")
b=$(run "$N2")
[[ -n ${KEEP_PROFILE:-} ]] && cp "$DIR/cg.$N2" "$KEEP_PROFILE"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if git status --porcelain 2>/dev/null | grep -qv '^??'; then commit+=" with uncommitted changes"; fi
echo "$commit: $(((b - a) / (N2 - N1))) user-space instructions per request ($CONFIG)"
