#!/usr/bin/env bash
# Serve proxy.conf.example in front of two demo upstreams (127.0.0.1:9001, :9002).
# Used by `make run` after `swift build -c release`.
#   SLUICE_BIN  the sluice binary (default .build/release/sluice)
#   SLUICE_CONF the configuration (default proxy.conf.example)
# Ctrl-C stops sluice (it receives the terminal's SIGINT itself: graceful stop) and the upstreams;
# SIGTERM to this script is forwarded to sluice. The upstreams are stopped on every exit.
set -u
cd "$(dirname "$0")/.."
SLUICE_BIN="${SLUICE_BIN:-.build/release/sluice}"
SLUICE_CONF="${SLUICE_CONF:-proxy.conf.example}"
PY="${PYTHON:-python3}"

if [ ! -x "$SLUICE_BIN" ]; then
    echo "run_demo: $SLUICE_BIN not found or not executable (run: swift build -c release)" >&2
    exit 1
fi

upstreams=()
sluice_pid=""

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# wait_gone PID TENTHS: wait up to TENTHS/10 s for PID to exit
wait_gone() {
    local i
    for ((i = 0; i < $2; i++)); do alive "$1" || return 0; sleep 0.1; done
    ! alive "$1"
}

cleanup() {
    trap - EXIT INT TERM
    if alive "$sluice_pid"; then
        # After Ctrl-C sluice got SIGINT from the terminal and is draining: give it time.
        wait_gone "$sluice_pid" 50 || { kill -TERM "$sluice_pid" 2>/dev/null; wait_gone "$sluice_pid" 50; } \
            || kill -KILL "$sluice_pid" 2>/dev/null
    fi
    for p in "${upstreams[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${upstreams[@]}"; do wait_gone "$p" 30 || kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'kill -TERM "$sluice_pid" 2>/dev/null; exit 143' TERM

# Background jobs of a script ignore SIGINT; "trap -" in the subshell restores the default so
# that Ctrl-C reaches them like any foreground program.
( trap - INT QUIT; exec "$PY" tools/demo_upstream.py --port 9001 --name upstream-1 ) & upstreams+=($!)
( trap - INT QUIT; exec "$PY" tools/demo_upstream.py --port 9002 --name upstream-2 ) & upstreams+=($!)

# wait until both upstreams accept connections (max ~5 s each)
for port in 9001 9002; do
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
done

echo "run_demo: upstreams on 127.0.0.1:9001 and :9002; starting $SLUICE_BIN -c $SLUICE_CONF" >&2
echo "run_demo: try  curl http://127.0.0.1:8080/   and   curl http://127.0.0.1:9090/stats" >&2
# Run sluice as a job and wait for it, so that the traps above run as soon as a signal arrives.
( trap - INT QUIT; exec "$SLUICE_BIN" -c "$SLUICE_CONF" ) &
sluice_pid=$!
wait "$sluice_pid"
status=$?
sluice_pid=""
exit "$status"
