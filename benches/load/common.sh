# shellcheck shell=bash
# Shared by the load scripts (stack.sh, cpu_split.sh, binary_cost.sh): sourced from
# the repository root after the script has cd'ed there, not run.
#
# A script sets DIR (its temporary directory) and calls `stop_on_exit`; every
# long-running process it starts goes in `pids`, the wrk run in progress in WRK.
# On exit they are stopped and DIR is removed (kept, and named, with KEEP=1).

# build_binaries BIN...: the release `frontdoor` (unless FRONTDOOR names a prebuilt
# one; FRONTDOOR is set to it) and the named frontdoor-benches binaries, in `$bin`.
build_binaries() {
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
    if [[ -z ${FRONTDOOR:-} ]]; then
        cargo build --release -p frontdoor-cli --bin frontdoor >&2
        FRONTDOOR=$CARGO_TARGET_DIR/release/frontdoor
    fi
    local args=() b
    for b in "$@"; do args+=(--bin "$b"); done
    cargo build --release -p frontdoor-benches "${args[@]}" >&2
    # shellcheck disable=SC2034 # used by the sourcing script
    bin=$CARGO_TARGET_DIR/release
}

# say MESSAGE...: progress on stderr, after the script's name.
say() { echo "${0##*/}: $*" >&2; }

pids=()
WRK=""
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in $WRK "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $WRK "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ ${KEEP:-0} == 1 ]]; then say "kept $DIR"; else rm -rf "$DIR"; fi
    exit "$rc"
}
stop_on_exit() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# wait_for FILE PATTERN PID [SECONDS]: until a line of FILE matches, while PID lives
# (30 s unless SECONDS).
wait_for() {
    local i
    for ((i = 0; i < ${4:-30} * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { say "process $3 exited before '$2' in $1"; return 1; }
        sleep 0.1
    done
    say "timed out waiting for '$2' in $1"
    return 1
}

# wait_port PORT PID: until 127.0.0.1:PORT accepts, while PID lives (30 s).
wait_port() {
    local i
    for ((i = 0; i < 300; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { say "process $2 exited before listening on $1"; return 1; }
        sleep 0.1
    done
    say "timed out waiting for port $1"
    return 1
}

taken=" "
free_port() { # a loopback port nothing listens on and not handed out before
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        [[ $taken == *" $p "* ]] && continue
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        taken+="$p "
        echo "$p"
        return
    done
}

render() { # render TEMPLATE OUT [NAME=VALUE]...: fills in @NAME@ placeholders
    local src=$1 out=$2 kv args=()
    shift 2
    for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$src" >"$out"
}
