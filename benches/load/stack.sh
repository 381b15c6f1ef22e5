#!/usr/bin/env bash
# The whole `frontdoor` binary against nginx and the upstream itself, measured from
# outside in one run (by hand, not part of `cargo test`; issue 16).
#
# On loopback only, it starts:
#   * the benchmark upstream (`stack-upstream`: 13 B at GET /, 1 MiB at GET /big and
#     any path ending in /big; it counts the TCP connections it accepts);
#   * nginx from Debian (stack/nginx.conf: 2 workers, proxy_pass with upstream
#     keepalive), in the foreground on a free port, never the system service;
#   * the release `frontdoor` binary four times: one route (stack/one-route.toml);
#     1,000 routes with the hit at index 990, a cleanup rule set on it, a
#     trusted-proxy resolver and the admin listener (generated below); the upstream's
#     /origin relocated under /app with relocate = "none" and with "plain"
#     (stack/relocate.toml); one route with request IDs and span export off, and
#     with both on (every request's spans exported to the upstream as the collector);
#   * a TLS row (frontdoor with stack/tls.toml against nginx terminating TLS with the
#     same certificate), only when `frontdoor check` accepts `listen_tls`; otherwise
#     it is skipped with the reason printed.
# Then, for 13 B responses (64 connections) and 1 MiB responses (16 connections),
# it drives every target with wrk in turn, ROUNDS times (alternating rounds), and
# prints a markdown table of medians: requests/s, p50, p99, MB/s, proxy CPU
# microseconds per request (utime + stime of every thread of the proxy's processes,
# from /proc/PID/stat), peak RSS during the run (VmHWM from /proc/PID/status, reset
# before each run through /proc/PID/clear_refs when allowed; nginx: master + workers)
# and the connections the upstream accepted during the run, each with its ratio to
# nginx in the same round (the median over rounds of the per-round ratio). Then the
# issue's targets, met or not. Every process it starts is stopped on exit.
#
# The table goes to stdout, progress to stderr:
#   benches/load/stack.sh > table.md
# Environment (defaults): ROUNDS (3), DURATION (10, seconds per wrk run), WARMUP
# (1, seconds per target before the first round; 0: none), WORKERS (2: frontdoor
# workers and nginx worker processes), WRK_THREADS (2), CONNS_SMALL (64),
# CONNS_BIG (16), CASES ("small big tls"), FRONTDOOR (a prebuilt binary to measure
# instead of building this tree's), LOG_DIR (keep frontdoor's log and nginx's access
# log there; default /dev/null for both: each still formats and writes its line per
# request), KEEP=1 (keep the temporary directory: configs, wrk outputs, runs.tsv).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
WORKERS=${WORKERS:-2}
WRK_THREADS=${WRK_THREADS:-2}
CONNS_SMALL=${CONNS_SMALL:-64}
CONNS_BIG=${CONNS_BIG:-16}
CASES=${CASES:-small big tls}
conf=benches/load/stack

# shellcheck source=benches/load/common.sh
source benches/load/common.sh
for c in $CASES; do
    case $c in small | big | tls) ;; *) say "unknown case $c (small, big, tls)"; exit 2 ;; esac
done

# --- tools ----------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
if ((${#need[@]})); then
    say "installing ${need[*]} from Debian"
    # Keep the package from starting the system nginx (on port 80): it is not used.
    policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
    if [[ -n $policy ]]; then rm -f "$policy"; fi
fi

# --- build ----------------------------------------------------------------------
build_binaries stack-upstream stack-report

# --- processes, stopped on exit -------------------------------------------------
DIR=$(mktemp -d /tmp/frontdoor-stack.XXXXXX)
chmod 755 "$DIR" # nginx's workers create their temporary files in it
stop_on_exit

log() { # log NAME: where a process's log goes
    if [[ -n ${LOG_DIR:-} ]]; then mkdir -p "$LOG_DIR" && echo "$LOG_DIR/$1"; else echo /dev/null; fi
}

# --- the upstream -----------------------------------------------------------------
"$bin/stack-upstream" >"$DIR/upstream.out" &
pids+=($!)
wait_for "$DIR/upstream.out" '^upstream ' "$!"
read -r _ UPSTREAM _ control <"$DIR/upstream.out"
CONTROL_PORT=${control##*:}
accepts() { # connections the upstream has accepted so far
    local n
    read -r n <"/dev/tcp/127.0.0.1/$CONTROL_PORT"
    echo "$n"
}
say "upstream on $UPSTREAM"

# --- frontdoor ------------------------------------------------------------------
declare -A PID PORT
# start_frontdoor ID CONFIG: checks the config, serves it, records PID and PORT.
start_frontdoor() {
    local id=$1 cfg=$2 p
    if ! "$FRONTDOOR" check -c "$cfg" >/dev/null 2>"$DIR/$id.check"; then
        say "frontdoor check failed for $cfg:"
        cat "$DIR/$id.check" >&2
        return 1
    fi
    "$FRONTDOOR" serve -c "$cfg" --workers "$WORKERS" >"$DIR/$id.out" 2>"$(log "frontdoor-$id.log")" &
    p=$!
    pids+=("$p")
    wait_for "$DIR/$id.out" '^ready$' "$p"
    PID[$id]=$p
    PORT[$id]=$(sed -n 's|^frontdoor listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$DIR/$id.out" | head -1)
    say "frontdoor $id on port ${PORT[$id]} (pid $p)"
}

# The full-stack config: 1,000 routes of every spec form, the hit (::/app) at index
# 990 with a cleanup rule set, a resolver that trusts forwarding headers from
# loopback (wrk sends X-Forwarded-For to every target), and the admin listener.
full_stack() {
    local i
    cat <<EOF
# Generated by benches/load/stack.sh: 1,000 routes, the hit at index 990.
[server]
listen = ["127.0.0.1:0"]
admin = "127.0.0.1:0"

[resolve]
trusted_proxies = ["127.0.0.0/8", "10.0.0.0/8"]

EOF
    for ((i = 0; i < 1000; i++)); do
        echo "[[route]]"
        if ((i == 990)); then
            echo 'spec = "::/app"'
            echo "upstream = \"http://$UPSTREAM\""
            echo 'cleanup = { "-/" = "/legacy", "HTTP_X_FRONTDOOR" = "bench", "HTTP_X_DEBUG" = "None", "HTTP_COOKIE" = "None", "HTTP_X_INTERNAL_TOKEN" = "None" }'
        else
            case $((i % 4)) in
                0) echo "spec = \"svc$i.example.com::/\"" ;;
                1) echo "spec = \"::/app$i\"" ;;
                2) echo "spec = \"*.tenant$i.example.com::/api\"" ;;
                3) if ((i % 20 == 3)); then
                       echo "regex = '[^:]+:$((9000 + i)):(?P<pathinfo>/v$i)'"
                   else
                       echo "spec = \"::/app/v$i\""
                   fi ;;
            esac
            echo "upstream = \"http://$UPSTREAM/r$i\""
        fi
        echo
    done
    cat <<EOF
[default]
upstream = "http://$UPSTREAM/fallback"
EOF
}

render "$conf/one-route.toml" "$DIR/one-route.toml" "UPSTREAM=$UPSTREAM"
# One route with request IDs off (and no span export), and with IDs on and every
# request's spans exported over OTLP/HTTP (the upstream answers the collector's POSTs).
{ echo "[tracing]"; echo "sample_ratio = 1.0"; echo; sed 's/^\[server\]$/[server]\nrequest_id = false/' "$DIR/one-route.toml"; } >"$DIR/telemetry-off.toml"
{ echo "[tracing]"; echo "otlp_endpoint = \"http://$UPSTREAM\""; echo "sample_ratio = 1.0"; echo; cat "$DIR/one-route.toml"; } >"$DIR/telemetry-on.toml"
full_stack >"$DIR/full-stack.toml"
render "$conf/relocate.toml" "$DIR/relocate-none.toml" "UPSTREAM=$UPSTREAM" RELOCATE=none
render "$conf/relocate.toml" "$DIR/relocate-plain.toml" "UPSTREAM=$UPSTREAM" RELOCATE=plain
start_frontdoor one "$DIR/one-route.toml"
start_frontdoor full "$DIR/full-stack.toml"
start_frontdoor reloc-none "$DIR/relocate-none.toml"
start_frontdoor reloc-plain "$DIR/relocate-plain.toml"
start_frontdoor tele-off "$DIR/telemetry-off.toml"
start_frontdoor tele-on "$DIR/telemetry-on.toml"

# --- TLS: only when the binary accepts listen_tls ----------------------------------
tls_note=""
: >"$DIR/nginx-tls.conf"
if [[ " $CASES " == *" tls "* ]]; then
    TLS_PORT=$(free_port)
    NGINX_TLS_PORT=$(free_port)
    if ! command -v openssl >/dev/null; then
        tls_note="TLS row skipped: openssl (to make the certificate) is not installed."
    elif ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>"$DIR/openssl.err"; then
        tls_note="TLS row skipped: openssl could not make a certificate ($(head -1 "$DIR/openssl.err"))."
    else
        render "$conf/tls.toml" "$DIR/tls.toml" "UPSTREAM=$UPSTREAM" "DIR=$DIR" "TLS_PORT=$TLS_PORT"
        if "$FRONTDOOR" check -c "$DIR/tls.toml" >/dev/null 2>"$DIR/tls.check"; then
            start_frontdoor tls "$DIR/tls.toml"
            wait_port "$TLS_PORT" "${PID[tls]}"
            render "$conf/nginx-tls.conf" "$DIR/nginx-tls.conf" "DIR=$DIR" "TLS_PORT=$NGINX_TLS_PORT"
        else
            tls_note="TLS row skipped: this frontdoor binary does not accept \`listen_tls\` (\`frontdoor check\`: $(head -1 "$DIR/tls.check" | sed "s|$DIR/||"))."
        fi
    fi
    if [[ -n $tls_note ]]; then say "$tls_note"; fi
fi

# --- nginx ----------------------------------------------------------------------
NGINX_PORT=$(free_port)
render "$conf/nginx.conf" "$DIR/nginx.conf" "DIR=$DIR" "UPSTREAM=$UPSTREAM" \
    "PORT=$NGINX_PORT" "WORKERS=$WORKERS" "USER=$(id -un)" "ACCESS_LOG=$(log nginx-access.log)"
nginx -p "$DIR/" -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log" &
NGINX=$!
pids+=("$NGINX")
wait_port "$NGINX_PORT" "$NGINX"
if [[ -s $DIR/nginx-tls.conf ]]; then wait_port "$NGINX_TLS_PORT" "$NGINX"; fi
for ((i = 0; i < 100; i++)); do # the master forks its workers after binding
    NGINX_PIDS="$NGINX $(pgrep -P "$NGINX" | tr '\n' ' ')"
    (($(wc -w <<<"$NGINX_PIDS") > WORKERS)) && break
    sleep 0.1
done
say "nginx on port $NGINX_PORT (master and workers: $NGINX_PIDS)"

# --- measuring ------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of the processes PIDS..., every thread
    local p s f t=0
    for p in "$@"; do
        s=$(<"/proc/$p/stat")
        read -ra f <<<"${s##*) }"
        t=$((t + f[11] + f[12]))
    done
    echo "$t"
}
hwm_resettable=1
reset_hwm() { # VmHWM := VmRSS, where the kernel allows it
    local p
    for p in "$@"; do echo 5 2>/dev/null >"/proc/$p/clear_refs" || hwm_resettable=0; done
}
hwm_kib() { # the sum of VmHWM of PIDS..., KiB
    local p t=0 v
    for p in "$@"; do
        v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$p/status")
        t=$((t + v))
    done
    echo "$t"
}

# wrk_run SECONDS CONNS URL OUT
wrk_run() {
    wrk -t"$WRK_THREADS" -c"$2" -d"$1s" --latency -H "X-Forwarded-For: 203.0.113.9" "$3" >"$4" &
    WRK=$!
    wait "$WRK"
    WRK=""
}

# measure CASE CASE_LABEL ROUND TARGET TARGET_LABEL IS_REF CONNS URL PIDS...: one
# wrk run, recorded as one line of runs.tsv for stack-report.
measure() {
    local case=$1 clabel=$2 round=$3 target=$4 tlabel=$5 ref=$6 conns=$7 url=$8
    shift 8
    local out="$DIR/wrk.$case.$round.$target" a0 a1 c0=0 c1=0 cpu=- rss=-
    a0=$(accepts)
    if (($#)); then
        reset_hwm "$@"
        c0=$(cpu_ticks "$@")
    fi
    wrk_run "$DURATION" "$conns" "$url" "$out"
    if (($#)); then
        c1=$(cpu_ticks "$@")
        cpu=$(((c1 - c0) * 1000000 / HZ))
        rss=$(hwm_kib "$@")
    fi
    a1=$(accepts)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$clabel" "$round" "$target" \
        "$tlabel" "$ref" "$out" "$cpu" "$rss" "$((a1 - a0))" >>"$DIR/runs.tsv"
    say "$clabel, round $round, $tlabel: $(sed -n 's/^Requests\/sec: *//p' "$out") req/s"
}

# Targets: ID|LABEL|IS_REF|URL-PATH-PREFIX|PIDS (measured for CPU and RSS; empty: none)
http_targets=(
    "direct|upstream direct|0|http://$UPSTREAM|"
    "nginx|nginx $(nginx -v 2>&1 | sed 's|.*nginx/||') ($WORKERS workers)|1|http://127.0.0.1:$NGINX_PORT/app|$NGINX_PIDS"
    "one|frontdoor, one route|0|http://127.0.0.1:${PORT[one]}/app|${PID[one]}"
    "full|frontdoor, 1,000 routes + cleanup + resolver|0|http://127.0.0.1:${PORT[full]}/app|${PID[full]}"
    "reloc-none|frontdoor, relocate = \"none\"|0|http://127.0.0.1:${PORT[reloc-none]}/app|${PID[reloc-none]}"
    "reloc-plain|frontdoor, relocate = \"plain\"|0|http://127.0.0.1:${PORT[reloc-plain]}/app|${PID[reloc-plain]}"
    "tele-off|frontdoor, one route, request IDs and span export off|0|http://127.0.0.1:${PORT[tele-off]}/app|${PID[tele-off]}"
    "tele-on|frontdoor, one route, request IDs and span export (all sampled) on|0|http://127.0.0.1:${PORT[tele-on]}/app|${PID[tele-on]}"
)
tls_targets=()
if [[ -n ${PID[tls]:-} ]]; then
    tls_targets=(
        "nginx-tls|nginx, TLS|1|https://127.0.0.1:$NGINX_TLS_PORT/app|$NGINX_PIDS"
        "fd-tls|frontdoor, one route, TLS|0|https://127.0.0.1:$TLS_PORT/app|${PID[tls]}"
    )
fi

# run_case CASE LABEL CONNS PATH TARGETS...: warm-up, then ROUNDS alternating rounds.
run_case() {
    local case=$1 label=$2 conns=$3 path=$4 t id tlabel ref url procs round
    shift 4
    if ((WARMUP > 0)); then
        for t in "$@"; do
            IFS='|' read -r id tlabel ref url procs <<<"$t"
            wrk_run "$WARMUP" "$conns" "$url$path" /dev/null
        done
    fi
    for ((round = 1; round <= ROUNDS; round++)); do
        for t in "$@"; do
            IFS='|' read -r id tlabel ref url procs <<<"$t"
            # shellcheck disable=SC2086 # the pids are words
            measure "$case" "$label" "$round" "$id" "$tlabel" "$ref" "$conns" "$url$path" $procs
        done
    done
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$DIR/runs.tsv"
for c in $CASES; do
    case $c in
        small) run_case small "13 B ($CONNS_SMALL conns)" "$CONNS_SMALL" / "${http_targets[@]}" ;;
        big) run_case big "1 MiB ($CONNS_BIG conns)" "$CONNS_BIG" /big "${http_targets[@]}" ;;
        tls) if ((${#tls_targets[@]})); then
                 run_case tls "13 B over TLS ($CONNS_SMALL conns)" "$CONNS_SMALL" / "${tls_targets[@]}"
             fi ;;
    esac
done

# --- the 1,000-route instance answered from route 990, not the [default] ---------
# (a miss would also answer 200): its /metrics count requests by route. Requests
# that wrk leaves unanswered when a run ends are counted as route "none", status
# "cancelled"; they answered from no route and are not counted here.
route_note=""
admin=$(sed -n 's|^admin listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$DIR/full.out")
if [[ -n $admin ]] && exec 3<>"/dev/tcp/127.0.0.1/$admin"; then
    printf 'GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n' >&3
    routes=$(sed -n '/status="cancelled"/d; s/^frontdoor_requests_total{route="\([^"]*\)".*/\1/p' <&3 | sort -u | tr '\n' ' ')
    exec 3>&-
    say "the 1,000-route instance answered from: ${routes:-no route}"
    if [[ $routes != "route[990] " ]]; then
        route_note="Warning: the 1,000-route instance answered from routes: ${routes:-none} (expected route[990] only)."
        say "$route_note"
    fi
fi

# --- the table ------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if git status --porcelain 2>/dev/null | grep -qv '^??'; then commit+=" with uncommitted changes"; fi
cat <<EOF
\`ROUNDS=$ROUNDS DURATION=$DURATION benches/load/stack.sh\` at $commit, $(date -u +%Y-%m-%d),
$(nproc) cores, load average $load_before before the run and $(cut -d' ' -f1-3 /proc/loadavg) after;
$WORKERS frontdoor workers and nginx worker processes; wrk $WRK_THREADS threads.
Medians over $ROUNDS alternating round(s); "(0.93x)": the median over rounds of the ratio
to nginx in the same round. CPU: utime + stime of the proxy's processes per request.
Peak RSS: VmHWM during the run$( ((hwm_resettable)) || echo " (could not be reset: peak since start)"), nginx's master and workers summed.
Upstream connects: TCP connections the upstream accepted during the run.

EOF
"$bin/stack-report" "$DIR/runs.tsv"
for note in "$route_note" "$tls_note"; do
    if [[ -n $note ]]; then printf '\n%s\n' "$note"; fi
done
