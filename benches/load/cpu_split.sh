#!/usr/bin/env bash
# Where the CPU of a proxied request goes, frontdoor against nginx, in one run (by
# hand, not part of `cargo test`; issue 16): the proxy's user and system time per
# request, and what the benchmark upstream and wrk spend per request beside it.
#
# stack.sh reports the proxy's CPU per request as one figure; this splits it. On
# loopback only, it starts the benchmark upstream (`stack-upstream`), nginx from
# Debian with stack.sh's config (stack/nginx.conf: 2 workers, proxy_pass with
# upstream keepalive, in the foreground on a free port, never the system service) and
# the release `frontdoor` binary with stack/one-route.toml (or CONFIG), then drives
# each with wrk in alternating rounds: 13 B responses over 64 connections and 1 MiB
# responses over 16. Per round and target it reads, around the wrk run, utime and
# stime of the proxy's processes (every thread; nginx's master and workers summed)
# and of the upstream from /proc/PID/stat, and wrk's own user and system time. It
# prints a markdown table of the medians over rounds (stdout; progress on stderr).
# Every process it starts is stopped on exit.
#
#   benches/load/cpu_split.sh > split.md
# Environment (defaults): ROUNDS (3), DURATION (5 seconds per wrk run), WORKERS (2),
# WRK_THREADS (2), CONFIG (benches/load/stack/one-route.toml), FRONTDOOR (a prebuilt
# binary instead of building this tree's), KEEP=1 (keep the temporary directory).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WORKERS=${WORKERS:-2}
WRK_THREADS=${WRK_THREADS:-2}
CONFIG=${CONFIG:-benches/load/stack/one-route.toml}
# shellcheck source=benches/load/common.sh
source benches/load/common.sh
for tool in wrk nginx; do
    command -v "$tool" >/dev/null || { say "needs $tool (apt-get install $tool)"; exit 2; }
done

build_binaries stack-upstream

DIR=$(mktemp -d /tmp/frontdoor-split.XXXXXX)
chmod 755 "$DIR" # nginx's workers create their temporary files in it
stop_on_exit

# --- the upstream, nginx, frontdoor -----------------------------------------------
"$bin/stack-upstream" >"$DIR/upstream.out" &
UP=$!
pids+=("$UP")
wait_for "$DIR/upstream.out" control "$UP"
read -r _ UPSTREAM _ _ <"$DIR/upstream.out"

NGINX_PORT=$(free_port)
: >"$DIR/nginx-tls.conf"
render benches/load/stack/nginx.conf "$DIR/nginx.conf" "WORKERS=$WORKERS" "DIR=$DIR" \
    "USER=$(id -un)" ACCESS_LOG=/dev/null "UPSTREAM=$UPSTREAM" "PORT=$NGINX_PORT"
nginx -p "$DIR" -c "$DIR/nginx.conf" 2>"$DIR/nginx.err" &
pids+=("$!")
wait_port "$NGINX_PORT" "${pids[-1]}"
wait_for "$DIR/nginx.pid" . "${pids[-1]}"
NGINX_MASTER=$(cat "$DIR/nginx.pid")

sed "s|@UPSTREAM@|$UPSTREAM|" "$CONFIG" >"$DIR/frontdoor.toml"
"$FRONTDOOR" serve -c "$DIR/frontdoor.toml" --workers "$WORKERS" >"$DIR/frontdoor.out" 2>/dev/null &
FD=$!
pids+=("$FD")
wait_for "$DIR/frontdoor.out" "^frontdoor listening on" "$FD"
FD_PORT=$(sed -n 's|^frontdoor listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$DIR/frontdoor.out" | head -1)

TICK=$(getconf CLK_TCK)
# ticks PID...: utime and stime of the processes (every thread), in clock ticks.
ticks() {
    local u=0 s=0 p uu ss
    for p in "$@"; do
        read -r uu ss < <(awk '{print $14, $15}' "/proc/$p/stat")
        u=$((u + uu)) s=$((s + ss))
    done
    echo "$u $s"
}
nginx_pids() { echo "$NGINX_MASTER" $(pgrep -P "$NGINX_MASTER"); }

# measure CASE CONNS PATH TARGET PIDS...: one wrk run; appends a row to runs.tsv.
measure() {
    local case=$1 conns=$2 path=$3 target=$4 port
    shift 4
    if [[ $target == nginx ]]; then port=$NGINX_PORT; else port=$FD_PORT; fi
    local url="http://127.0.0.1:$port$path"
    wrk -t"$WRK_THREADS" -c"$conns" -d1s "$url" >/dev/null # warm-up
    local p0 u0 p1 u1 wrk_cpu
    p0=$(ticks "$@")
    u0=$(ticks "$UP")
    TIMEFORMAT='%U %S'
    wrk_cpu=$({ time wrk -t"$WRK_THREADS" -c"$conns" -d"${DURATION}s" "$url" >"$DIR/wrk.out"; } 2>&1)
    p1=$(ticks "$@")
    u1=$(ticks "$UP")
    local n rps
    n=$(awk '/requests in/{print $1}' "$DIR/wrk.out")
    rps=$(awk '/Requests\/sec/{print $2}' "$DIR/wrk.out")
    if grep -q "Non-2xx\|Socket errors" "$DIR/wrk.out"; then
        say "$target $case: errors"
        cat "$DIR/wrk.out" >&2
        exit 1
    fi
    awk -v c="$case" -v t="$target" -v n="$n" -v rps="$rps" -v tick="$TICK" \
        -v p0="$p0" -v p1="$p1" -v u0="$u0" -v u1="$u1" -v w="$wrk_cpu" 'BEGIN {
        split(p0, a, " "); split(p1, b, " "); split(u0, c0, " "); split(u1, c1, " "); split(w, ww, " ");
        us = 1e6 / tick / n;
        pu = (b[1] - a[1]) * us; ps = (b[2] - a[2]) * us;
        up = (c1[1] + c1[2] - c0[1] - c0[2]) * us; wk = (ww[1] + ww[2]) * 1e6 / n;
        printf "%s\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", c, t, rps, pu, ps, up, wk, pu + ps + up + wk
    }' >>"$DIR/runs.tsv"
}

say "rounds: $ROUNDS of ${DURATION}s; frontdoor $FRONTDOOR ($CONFIG), nginx $(nginx -v 2>&1 | sed 's|.*/||')"
for ((r = 1; r <= ROUNDS; r++)); do
    for spec in "13 B (64 conns)|64|/app/" "1 MiB (16 conns)|16|/app/big"; do
        IFS='|' read -r case conns path <<<"$spec"
        say "round $r: $case"
        # shellcheck disable=SC2046
        measure "$case" "$conns" "$path" nginx $(nginx_pids)
        measure "$case" "$conns" "$path" frontdoor "$FD"
    done
done

# --- medians ------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if git status --porcelain 2>/dev/null | grep -qv '^??'; then commit+=" with uncommitted changes"; fi
echo "\`ROUNDS=$ROUNDS DURATION=$DURATION benches/load/cpu_split.sh\` at $commit, $(date -u +%F),"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) after the run; medians over $ROUNDS round(s)."
echo "CPU in microseconds per request: the proxy's user and system time, the upstream's and"
echo "wrk's (user + system), and their sum (what the machine's cores spend per request)."
echo
echo "| case | target | req/s | proxy user | proxy system | upstream | wrk | all |"
echo "|---|---|---|---|---|---|---|---|"
for case in "13 B (64 conns)" "1 MiB (16 conns)"; do
    for target in nginx frontdoor; do
        row="| $case | $target"
        for col in 3 4 5 6 7 8; do
            med=$(awk -F'\t' -v c="$case" -v t="$target" -v k="$col" '$1 == c && $2 == t {print $k}' "$DIR/runs.tsv" |
                sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}')
            row+=" | $med"
        done
        echo "$row |"
    done
done
