#!/usr/bin/env bash
# Serve proxy.conf.example in front of two demo upstreams (127.0.0.1:9001, :9002).
# Used by `make run` after `swift build -c release`.
#   SLUICE_BIN  the sluice binary (default .build/release/sluice)
#   SLUICE_CONF the configuration (default proxy.conf.example)
set -u
cd "$(dirname "$0")/.."
SLUICE_BIN="${SLUICE_BIN:-.build/release/sluice}"
SLUICE_CONF="${SLUICE_CONF:-proxy.conf.example}"
PY="${PYTHON:-python3}"

if [ ! -x "$SLUICE_BIN" ]; then
    echo "run_demo: $SLUICE_BIN not found or not executable (run: swift build -c release)" >&2
    exit 1
fi

pids=()
cleanup() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PY" tools/demo_upstream.py --port 9001 --name upstream-1 & pids+=($!)
"$PY" tools/demo_upstream.py --port 9002 --name upstream-2 & pids+=($!)

# wait until both upstreams accept connections (max ~5 s)
for port in 9001 9002; do
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
done

echo "run_demo: upstreams on 127.0.0.1:9001 and :9002; starting $SLUICE_BIN -c $SLUICE_CONF" >&2
echo "run_demo: try  curl http://127.0.0.1:8080/   and   curl http://127.0.0.1:9090/stats" >&2
# Not exec: the trap must survive to stop the upstreams when sluice exits.
"$SLUICE_BIN" -c "$SLUICE_CONF" &
sluice_pid=$!
pids=("$sluice_pid" "${pids[@]}")
wait "$sluice_pid"
status=$?
pids=("${pids[@]:1}")
exit "$status"
