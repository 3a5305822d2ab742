#!/usr/bin/env bash
# Runs h2spec --strict (https://github.com/summerwind/h2spec, not packaged by Debian: put its
# binary on PATH or in H2SPEC) against sluice over TLS (ALPN h2) and on a cleartext port (prior
# knowledge), in front of tools/demo_upstream.py. Prints h2spec's summary for each; exits 1 if TLS fails any.
#   SLUICE_BIN  the sluice binary (default .build/release/sluice)
# On the cleartext port, which also serves HTTP/1.1, h2spec's "invalid connection preface" case
# fails by design: those bytes are a malformed HTTP/1.1 request, answered 400.
set -u
cd "$(dirname "$0")/.."
SLUICE_BIN="${SLUICE_BIN:-.build/release/sluice}"
H2SPEC="${H2SPEC:-h2spec}"
command -v "$H2SPEC" >/dev/null || { echo "h2spec.sh: $H2SPEC not found (set H2SPEC)" >&2; exit 2; }
[ -x "$SLUICE_BIN" ] || { echo "h2spec.sh: $SLUICE_BIN not found (run: swift build -c release)" >&2; exit 2; }

dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up=$(port) plain=$(port) tls=$(port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
cat > "$dir/sluice.conf" <<EOF
workers 1;
error_log $dir/error.log info;
backend app { server 127.0.0.1:$up; }
frontend h2spec {
    listen 127.0.0.1:$plain;
    listen 127.0.0.1:$tls tls;
    certificate $dir/cert.pem $dir/key.pem;
    backend app;
}
EOF
python3 tools/demo_upstream.py --port "$up" --name h2spec >/dev/null 2>&1 & pids+=($!)
"$SLUICE_BIN" -c "$dir/sluice.conf" & pids+=($!)
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $tls), 0.2)" 2>/dev/null && break
    sleep 0.1
done

# report FILE: the failures h2spec listed, else its summary line
report() { if grep -q '^Failures:' "$1"; then sed -n '/^Failures:/,$p' "$1"; else tail -1 "$1"; fi; }
status=0
echo "== TLS (ALPN h2), port $tls"
"$H2SPEC" -h 127.0.0.1 -p "$tls" -t -k -S -o 3 > "$dir/tls.txt" 2>&1 || status=1
report "$dir/tls.txt"
echo "== cleartext (prior knowledge), port $plain"
"$H2SPEC" -h 127.0.0.1 -p "$plain" -S -o 3 > "$dir/plain.txt" 2>&1
report "$dir/plain.txt"
exit $status
