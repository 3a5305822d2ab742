"""PROXY protocol (SPEC §8, HAProxy's doc/proxy-protocol.txt), on the running binary.

`listen ADDR [tls] proxy_protocol;` takes a v1 or v2 header at the start of every connection,
within `timeout header`, before TLS; its source stands for the peer (X-Forwarded-For,
trusted_proxies, access log); v2 LOCAL and v1 UNKNOWN keep the connection's own peer; a
connection without a valid header is closed without an answer and nothing reaches an upstream.
`server ... send_proxy=v1|v2;` starts every new upstream connection with a header naming the
client and the address it connected to, before TLS, in HTTP and `mode tcp`.

Clients: curl `--haproxy-protocol`, raw sockets sending headers built here (proxy_header.py),
Python ssl and h2 after a header sent in clear, and a real HAProxy with `send-proxy[-v2]` in
front.  Upstreams: RecordingUpstream, and ProxyUpstream which parses the header sluice sends.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from types import SimpleNamespace

import h2.config
import h2.connection
import pytest

from clients import RawClient
from conftest import factory, http_config
from h2_clients import H2Client
from pki import CA
from ports import free_port, port_accepts
from processes import terminate, wait_until
from proxy_header import (AF_UNIX, DGRAM, LOCAL, PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY,
                          PP2_TYPE_NOOP, PP2_TYPE_UNIQUE_ID, STREAM, UNSPEC, V2_SIGNATURE,
                          ProxyTLSUpstream, ProxyUpstream, parse, v1, v1_unknown, v2, v2_local)
from servers import Reply
from tls_clients import client_context

SITE = "site.test"
HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)

# made-up client addresses carried in headers (documentation ranges)
SRC4, SRC6 = ("203.0.113.7", 40001), ("2001:db8::7", 40002)
DST4, DST6 = ("192.0.2.1", 443), ("2001:db8::1", 8443)


def request(path: str = "/", host: str = "example.test", extra: str = "", close: bool = False) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode("latin-1")


# ------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pp-pki")
    root = CA(d / "root", "sluice pp test root CA")
    return SimpleNamespace(root=root,
                           site=root.issue([SITE], ips=["127.0.0.1"]),
                           up=root.issue(["up.test"], ips=["127.0.0.1"]))


@pytest.fixture
def pp_upstream():
    """pp_upstream(name, handler=None, tcp=False) -> ProxyUpstream (reads sluice's header)."""
    made = []

    def make(name="pp", handler=None, **kw):
        u = ProxyUpstream(name, handler, **kw)
        made.append(u)
        return u

    yield make
    for u in made:
        u.stop()


def pp_config(port: int, servers, *, listen_opts: str = "proxy_protocol", certs=(), **kw) -> str:
    """http_config with its listener given `listen_opts` (e.g. "tls proxy_protocol") and the
    `certificate` lines of `certs` (pki leaves)."""
    text = http_config(port, servers, **kw)
    plain = f"    listen 127.0.0.1:{port};\n"
    assert plain in text
    cert_lines = "".join(f"    certificate {c.cert} {c.key};\n" for c in certs)
    return text.replace(plain, f"    listen 127.0.0.1:{port} {listen_opts};\n{cert_lines}")


def start_pp(sluice, ups, *, listen_opts="proxy_protocol", certs=(), name=None, **kw):
    """sluice with one proxy_protocol listener (s.port) in front of `ups` (s.upstreams)."""
    port = free_port()
    servers = kw.pop("servers", None) or [u.addr for u in ups]
    s = sluice(pp_config(port, servers, listen_opts=listen_opts, certs=certs, **kw), ports=[port],
               name=name)
    s.upstreams = list(ups)
    return s


def tcp_config(port: int, server: str, listen_opts: str = "", header_timeout: str = "2s") -> str:
    return f"""\
workers 1;
error_log stderr info;
backend raw {{
    server {server};
    timeout connect 1s;
}}
frontend t {{
    mode tcp;
    listen 127.0.0.1:{port}{(' ' + listen_opts) if listen_opts else ''};
    timeout header {header_timeout};
    backend raw;
}}
"""


def exchange(port: int, data: bytes, source: str = "127.0.0.1", pieces=None, pause: float = 0.0):
    """Send `data` (in `pieces` separate writes with `pause` seconds between, when given) on a
    fresh connection and read one response."""
    with RawClient(port, source=source) as c:
        if pieces:
            at = 0
            for n in pieces:
                c.send(data[at:at + n])
                at += n
                time.sleep(pause)
            c.send(data[at:])
        else:
            c.send(data)
        return c.read_response()


def control(s, path: str = "/control") -> None:
    """A valid header and request on a fresh connection reach the upstream: the listener and the
    upstream were fine all along, so "nothing arrived" in a test means something."""
    up = s.upstreams[0]
    before = len(up.snapshot())
    r = exchange(s.port, v1(("198.51.100.9", 1234), ("127.0.0.1", s.port)) + request(path, close=True))
    assert r.status == 200, (r.status, r.body)
    got = up.wait_requests(before + 1)
    assert [q.target for q in got[before:]] == [path]
    assert got[-1].value("X-Forwarded-For") == "198.51.100.9"


def assert_closed_silently(port: int, data: bytes, within: float, source: str = "127.0.0.1") -> float:
    """`data` on a fresh connection: the connection is closed (FIN or RST) within `within`
    seconds without one byte of answer.  Returns the seconds it took."""
    t0 = time.monotonic()
    with RawClient(port, source=source) as c:
        if data:
            try:
                c.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        got = c.wait_closed(within)
    assert got == b"", f"sluice answered {got[:200]!r} to {data[:120]!r}"
    return time.monotonic() - t0


def assert_nothing_upstream(*ups) -> None:
    time.sleep(0.1)
    for up in ups:
        assert up.total_bytes() == 0 and up.connection_count() == 0, \
            f"upstream {up.name} got {up.connection_count()} connection(s): " \
            f"{b''.join(bytes(b) for b in up.received.values())[:300]!r}"


def curl(*args, timeout: float = 15):
    return subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "8", *map(str, args)],
                          capture_output=True, timeout=timeout)


def h2_over(sock) -> H2Client:
    """An H2Client (h2_clients.py) speaking on an already connected (and maybe TLS) socket: the
    PROXY header has gone before the connection preface."""
    c = H2Client.__new__(H2Client)
    c.sock = sock
    c.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8", validate_inbound_headers=True))
    c.conn.initiate_connection()
    c.auto_window = True
    c.responses = {}
    c.goaway = None
    c.closed = False
    c.flush()
    return c


def json_lines(path, n: int, timeout: float = 5.0) -> list:
    def read():
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return None
        return lines if len(lines) >= n else None
    return [json.loads(x) for x in wait_until(read, timeout, interval=0.05, what=f"{n} lines in {path}")]


# ---------------------------------------------------------------------------- curl --haproxy-protocol

@pytest.mark.deadline(30)
def test_curl_haproxy_protocol(sluice, upstream):
    """curl sends a v1 header with its real addresses: 200, and the upstream sees that source;
    the same curl without the header gets the connection closed and reaches nothing."""
    up = upstream("A", lambda r: Reply(body=b"via pp\n"))
    s = start_pp(sluice, [up])
    r = curl("--haproxy-protocol", "--interface", "127.0.0.3", "-w", "\n%{http_code}",
             "-H", "X-Forwarded-For: 6.6.6.6", f"http://127.0.0.1:{s.port}/curl")
    assert r.returncode == 0 and r.stdout == b"via pp\n\n200", (r.returncode, r.stdout, r.stderr)
    [req] = up.wait_requests(1)
    assert req.target == "/curl"
    assert req.value("X-Forwarded-For") == "127.0.0.3"     # untrusted: the spoofed value is dropped
    assert req.value("X-Forwarded-Proto") == "http"
    # without --haproxy-protocol: empty reply, nothing forwarded
    r = curl("-w", "%{http_code}", f"http://127.0.0.1:{s.port}/no-header")
    assert r.returncode != 0 and r.stdout in (b"000", b""), (r.returncode, r.stdout, r.stderr)
    time.sleep(0.1)
    assert [q.target for q in up.snapshot()] == ["/curl"]


@pytest.mark.deadline(30)
def test_curl_haproxy_protocol_tls_http1_and_h2(sluice, upstream, pki):
    """A `tls proxy_protocol` listener: curl's header in clear, then its TLS handshake; HTTP/1.1
    and HTTP/2 (ALPN h2) both reach the upstream with the header's source."""
    up = upstream("A", lambda r: Reply(body=b"tls pp\n"))
    s = start_pp(sluice, [up], listen_opts="tls proxy_protocol", certs=[pki.site])
    base = ["--haproxy-protocol", "--interface", "127.0.0.3", "--cacert", pki.root.cert,
            "--resolve", f"{SITE}:{s.port}:127.0.0.1", "-w", "\n%{http_version}"]
    r = curl(*base, "--http1.1", f"https://{SITE}:{s.port}/h1")
    assert r.returncode == 0 and r.stdout == b"tls pp\n\n1.1", (r.returncode, r.stdout, r.stderr)
    r = curl(*base, "--http2", f"https://{SITE}:{s.port}/h2")
    assert r.returncode == 0 and r.stdout == b"tls pp\n\n2", (r.returncode, r.stdout, r.stderr)
    reqs = up.wait_requests(2)
    assert [q.target for q in reqs] == ["/h1", "/h2"]
    for q in reqs:
        assert q.value("X-Forwarded-For") == "127.0.0.3", q.headers
        assert q.value("X-Forwarded-Proto") == "https"
        assert q.value("Host") == f"{SITE}:{s.port}"


# ------------------------------------------------------------------- headers with made-up sources

HEADERS = [
    ("v1-tcp4", lambda: v1(SRC4, DST4), SRC4[0]),
    ("v1-tcp6", lambda: v1(SRC6, DST6), SRC6[0]),
    ("v2-inet", lambda: v2(SRC4, DST4), SRC4[0]),
    ("v2-inet6", lambda: v2(SRC6, DST6), SRC6[0]),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,make,addr", HEADERS, ids=[h[0] for h in HEADERS])
def test_header_source_stands_for_the_peer(sluice, upstream, tmp_path, name, make, addr):
    """Header and request in one write: the upstream sees the header's source in
    X-Forwarded-For (a client-sent value is dropped: the source is not trusted), on every
    request of the keep-alive connection; the json access log names it as the client."""
    up = upstream("A")
    log = tmp_path / "access.json"
    s = start_pp(sluice, [up], frontend_extra=f'    access_log "{log}" json;\n')
    with RawClient(s.port, source="127.0.0.3") as c:
        c.send(make() + request("/one", extra="X-Forwarded-For: 6.6.6.6\r\n"))
        r1 = c.read_response()
        c.send(request("/two"))
        r2 = c.read_response()
    assert (r1.status, r2.status) == (200, 200)
    reqs = up.wait_requests(2)
    assert [q.target for q in reqs] == ["/one", "/two"]
    for q in reqs:
        assert q.value("X-Forwarded-For") == addr, q.headers
        assert q.value("X-Forwarded-Proto") == "http"
    assert up.errors == []
    # nothing of the header reached the upstream: the request line comes first
    assert all(bytes(b).startswith(b"GET /") for b in up.received.values())
    lines = json_lines(log, 2)
    assert sorted(d["target"] for d in lines) == ["/one", "/two"]
    assert {d["client"] for d in lines} == {addr}, lines


@pytest.mark.deadline(30)
def test_combined_access_log_names_the_header_source(sluice, upstream, tmp_path):
    up = upstream("A")
    log = tmp_path / "access.log"
    s = start_pp(sluice, [up], frontend_extra=f'    access_log "{log}" combined;\n')
    assert exchange(s.port, v1(SRC4, DST4) + request("/c4", close=True)).status == 200
    assert exchange(s.port, v2(SRC6, DST6) + request("/c6", close=True)).status == 200
    lines = wait_until(lambda: (lambda ls: ls if len(ls) >= 2 else None)(
        log.read_text().splitlines() if log.exists() else []), 5, interval=0.05, what="2 log lines")
    by_target = {ln.split('"')[1].split(" ")[1]: ln for ln in lines}
    assert by_target["/c4"].startswith(f"{SRC4[0]} - - ["), by_target
    assert by_target["/c6"].startswith(f"{SRC6[0]} - - ["), by_target
    assert [q.value("X-Forwarded-For") for q in up.wait_requests(2)] == [SRC4[0], SRC6[0]]


TRUST = [
    # (id, trusted_proxies, header, expected X-Forwarded-For at the upstream)
    ("v4-source-trusted", "203.0.113.0/24", lambda: v1(SRC4, DST4), f"198.51.100.1, 10.0.0.1, {SRC4[0]}"),
    ("v4-source-trusted-v2", "203.0.113.7/32", lambda: v2(SRC4, DST4), f"198.51.100.1, 10.0.0.1, {SRC4[0]}"),
    ("v6-source-trusted", "2001:db8::/32", lambda: v2(SRC6, DST6), f"198.51.100.1, 10.0.0.1, {SRC6[0]}"),
    # the real peer (the balancer on 127.0.0.3) is trusted, the header's source is not
    ("only-real-peer-trusted", "127.0.0.0/8", lambda: v1(SRC4, DST4), SRC4[0]),
    ("only-real-peer-trusted-v6", "127.0.0.0/8", lambda: v2(SRC6, DST6), SRC6[0]),
    ("other-range-trusted", "198.51.100.0/24", lambda: v2(SRC4, DST4), SRC4[0]),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,trusted,make,want", TRUST, ids=[t[0] for t in TRUST])
def test_trusted_proxies_judge_the_header_source(sluice, upstream, name, trusted, make, want):
    up = upstream("A")
    s = start_pp(sluice, [up], trusted=trusted)
    r = exchange(s.port, make() + request("/t", extra="X-Forwarded-For: 198.51.100.1\r\n"
                                          "X-Forwarded-Proto: https\r\n"
                                          "X-Forwarded-For: 10.0.0.1\r\n", close=True),
                 source="127.0.0.3")
    assert r.status == 200
    [req] = up.wait_requests(1)
    assert req.value("X-Forwarded-For") == want, req.headers
    # the trusted peer's X-Forwarded-Proto is kept, an untrusted one's replaced
    assert req.value("X-Forwarded-Proto") == ("http" if want.count(",") == 0 else "https")


REAL_PEER = [
    ("v2-local", lambda: v2_local()),
    ("v2-local-with-inet-block", lambda: v2(SRC4, DST4, command=LOCAL)),
    ("v2-local-with-tlvs", lambda: v2_local(tlvs=[(PP2_TYPE_NOOP, b"\0" * 5)])),
    ("v2-unspec", lambda: v2(block=b"", family=0, transport=UNSPEC)),
    ("v2-af-unix", lambda: v2(block=b"/tmp/a.sock".ljust(108, b"\0") + b"/tmp/b.sock".ljust(108, b"\0"),
                              family=AF_UNIX, transport=STREAM)),
    ("v2-inet-dgram", lambda: v2(SRC4, DST4, transport=DGRAM)),
    ("v1-unknown", lambda: v1_unknown()),
    ("v1-unknown-with-addresses", lambda: v1_unknown("203.0.113.7 192.0.2.1 40001 443")),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,make", REAL_PEER, ids=[t[0] for t in REAL_PEER])
def test_local_and_unknown_keep_the_real_peer(sluice, upstream, name, make):
    """Headers that carry no TCP address to use (v2 LOCAL, UNSPEC, AF_UNIX, DGRAM; v1 UNKNOWN)
    are accepted and the connection's own peer stands."""
    up = upstream("A")
    s = start_pp(sluice, [up])
    r = exchange(s.port, make() + request("/real", close=True), source="127.0.0.3")
    assert r.status == 200, (r.status, r.body)
    [req] = up.wait_requests(1)
    assert req.target == "/real"
    assert req.value("X-Forwarded-For") == "127.0.0.3", req.headers
    assert req.raw.startswith(b"GET /real HTTP/1.1\r\n")


ACCEPTED = [
    ("v2-tlvs", lambda: v2(SRC4, DST4, tlvs=[(PP2_TYPE_ALPN, b"http/1.1"), (PP2_TYPE_AUTHORITY, b"site.test"),
                                             (PP2_TYPE_UNIQUE_ID, os.urandom(16)), (PP2_TYPE_NOOP, b"")])),
    ("v2-tlv-padding", lambda: v2(SRC6, DST6, tlvs=[(PP2_TYPE_NOOP, b"\0" * 300)])),
    ("v1-longest-line", lambda: v1_unknown("x" * (107 - len("PROXY UNKNOWN \r\n")))),
    ("v1-max-ports", lambda: v1(("203.0.113.7", 65535), ("192.0.2.1", 0))),
    ("v1-full-ipv6", lambda: b"PROXY TCP6 2001:db8:0:0:0:0:0:7 2001:db8::1 40002 8443\r\n"),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,make", ACCEPTED, ids=[t[0] for t in ACCEPTED])
def test_valid_edge_headers_accepted(sluice, upstream, name, make):
    up = upstream("A")
    s = start_pp(sluice, [up])
    data = make()
    if name == "v1-longest-line":
        assert len(data) == 107
    r = exchange(s.port, data + request("/edge", close=True), source="127.0.0.3")
    assert r.status == 200, (r.status, r.body)
    [req] = up.wait_requests(1)
    assert req.raw.startswith(b"GET /edge HTTP/1.1\r\n")
    want = {"v1-longest-line": "127.0.0.3", "v1-max-ports": "203.0.113.7",
            "v1-full-ipv6": "2001:db8::7", "v2-tlv-padding": SRC6[0]}.get(name, SRC4[0])
    assert req.value("X-Forwarded-For") == want, req.headers


# ----------------------------------------------------------------------------- bad or missing headers

GET = b"GET /leak HTTP/1.1\r\nHost: example.test\r\n\r\n"


def _v2_with(byte12=None, byte13=None, length=None, body=None):
    h = bytearray(v2(SRC4, DST4))
    if byte12 is not None:
        h[12] = byte12
    if byte13 is not None:
        h[13] = byte13
    if body is not None:
        h = h[:16] + body
        h[14:16] = len(body).to_bytes(2, "big")
    if length is not None:
        h[14:16] = length.to_bytes(2, "big")
    return bytes(h)


BAD = [
    ("plain-get", GET),
    ("garbage", b"\x00\xffgarbage\x01\x02" + os.urandom(64)),
    ("tls-client-hello", bytes.fromhex("160301020001") + os.urandom(40)),
    ("ssh-banner", b"SSH-2.0-OpenSSH_9.2\r\n"),
    ("v1-line-over-107-no-crlf", b"PROXY TCP4 " + b"1" * 200),
    ("v1-line-108-bytes", v1_unknown("x" * (108 - len("PROXY UNKNOWN \r\n"))) + GET),
    ("v1-lowercase", b"proxy TCP4 203.0.113.7 192.0.2.1 40001 443\r\n" + GET),
    ("v1-three-fields", b"PROXY TCP4 203.0.113.7 192.0.2.1 40001\r\n" + GET),
    ("v1-five-fields", b"PROXY TCP4 203.0.113.7 192.0.2.1 40001 443 7\r\n" + GET),
    ("v1-double-space", b"PROXY TCP4 203.0.113.7  192.0.2.1 40001 443\r\n" + GET),
    ("v1-bad-protocol", b"PROXY TCP5 203.0.113.7 192.0.2.1 40001 443\r\n" + GET),
    ("v1-family-mismatch", b"PROXY TCP4 2001:db8::7 2001:db8::1 40001 443\r\n" + GET),
    ("v1-bad-ipv4", b"PROXY TCP4 203.0.113.256 192.0.2.1 40001 443\r\n" + GET),
    ("v1-port-too-big", b"PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n" + GET),
    ("v1-port-not-digits", b"PROXY TCP4 203.0.113.7 192.0.2.1 4x001 443\r\n" + GET),
    ("v1-lf-only", b"PROXY TCP4 203.0.113.7 192.0.2.1 40001 443\n" + GET),
    ("v1-cr-without-lf", b"PROXY TCP4 203.0.113.7 192.0.2.1 40001 443\rX" + GET),
    ("v1-no-protocol", b"PROXY \r\n" + GET),
    ("v2-version-1", _v2_with(byte12=0x11) + GET),
    ("v2-version-3", _v2_with(byte12=0x31) + GET),
    ("v2-command-2", _v2_with(byte12=0x22) + GET),
    ("v2-family-5", _v2_with(byte13=0x51) + GET),
    ("v2-transport-3", _v2_with(byte13=0x13) + GET),
    ("v2-inet-block-short", _v2_with(body=b"\xcb\x00\x71\x07\xc0\x00\x02\x01") + GET),
    ("v2-tlv-overruns", _v2_with(body=v2(SRC4, DST4)[16:] + b"\x04\x00\x09ab") + GET),
    ("v2-tlv-truncated", _v2_with(body=v2(SRC4, DST4)[16:] + b"\x04\x00") + GET),
    ("v2-signature-typo", V2_SIGNATURE[:11] + b"X" + v2(SRC4, DST4)[12:] + GET),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,data", BAD, ids=[b[0] for b in BAD])
def test_bad_or_missing_header_closes_without_answer(sluice, upstream, name, data):
    """Closed at once (well within `timeout header` 10s), not one byte of answer, nothing at the
    upstream; then a valid header on a fresh connection goes through."""
    up = upstream("A")
    s = start_pp(sluice, [up], header_timeout="10s")
    took = assert_closed_silently(s.port, data, within=3.0)
    assert took < 3.0
    assert_nothing_upstream(up)
    control(s)


TRUNCATED = [
    ("nothing", b""),
    ("v1-first-byte", b"P"),
    ("v1-partial-line", b"PROXY TCP4 203.0.113.7 192.0.2"),
    ("v1-cr-without-lf-yet", b"PROXY TCP4 203.0.113.7 192.0.2.1 40001 443\r"),
    ("v2-partial-signature", V2_SIGNATURE[:7]),
    ("v2-fixed-part-only", v2(SRC4, DST4)[:16]),
    ("v2-partial-block", v2(SRC6, DST6)[:30]),
    ("v2-partial-tlv", v2(SRC4, DST4, tlvs=[(PP2_TYPE_NOOP, b"\0" * 40)])[:40]),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,data", TRUNCATED, ids=[t[0] for t in TRUNCATED])
def test_truncated_header_closed_after_timeout_header(sluice, upstream, name, data):
    """A valid beginning of a header, then silence: sluice waits (the rest may come), and closes
    the connection without an answer once `timeout header` (1s) has passed."""
    up = upstream("A")
    s = start_pp(sluice, [up], header_timeout="1s")
    t0 = time.monotonic()
    with RawClient(s.port) as c:
        if data:
            c.send(data)
        assert c.is_open(0.5), "closed before timeout header: a valid beginning must be waited for"
        got = c.wait_closed(3.0)
        took = time.monotonic() - t0
    assert got == b"", got
    assert 0.9 <= took <= 3.0, f"closed after {took:.2f}s with timeout header 1s"
    assert_nothing_upstream(up)
    control(s)


SPLITS = [
    # (id, header, write sizes: the header and request are sent in these pieces, then the rest)
    ("v1-byte-by-byte", lambda: v1(SRC4, DST4), [1] * 41),
    ("v1-three-writes", lambda: v1(SRC6, DST6), [6, 20]),
    ("v1-crlf-split", lambda: v1(SRC4, DST4), [len(v1(SRC4, DST4)) - 1]),
    ("v2-byte-by-byte", lambda: v2(SRC4, DST4), [1] * 27),
    ("v2-inside-signature", lambda: v2(SRC6, DST6), [5, 9]),
    ("v2-fixed-then-block", lambda: v2(SRC6, DST6), [16, 20]),
    ("v2-inside-tlv", lambda: v2(SRC4, DST4, tlvs=[(PP2_TYPE_AUTHORITY, b"example.test")]), [30, 4]),
]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,make,pieces", SPLITS, ids=[t[0] for t in SPLITS])
def test_header_split_across_writes(sluice, upstream, name, make, pieces):
    """A header arriving in several TCP segments (TCP_NODELAY, pauses between them) is put
    together: the request goes through with the header's source."""
    up = upstream("A")
    s = start_pp(sluice, [up], header_timeout="5s")
    header = make()
    r = exchange(s.port, header + request("/split", close=True), pieces=pieces, pause=0.02)
    assert r.status == 200, (r.status, r.body)
    [req] = up.wait_requests(1)
    assert req.raw.startswith(b"GET /split HTTP/1.1\r\n")
    want = parse(header)[0].source[0]
    assert req.value("X-Forwarded-For") == want, req.headers


@pytest.mark.deadline(30)
def test_header_then_request_later(sluice, upstream):
    """The header alone, then the request in a later write: the connection waits for it."""
    up = upstream("A")
    s = start_pp(sluice, [up], header_timeout="3s")
    with RawClient(s.port) as c:
        c.send(v2(SRC4, DST4))
        assert c.is_open(0.3)
        c.send(request("/later", close=True))
        r = c.read_response()
    assert r.status == 200
    [req] = up.wait_requests(1)
    assert (req.target, req.value("X-Forwarded-For")) == ("/later", SRC4[0])


@pytest.mark.deadline(30)
def test_second_header_is_not_a_header(sluice, upstream):
    """Only the first bytes of a connection are a header: a PROXY line sent after the first
    request is an (invalid) request line, answered 400 by HTTP, and never changes the client."""
    up = upstream("A")
    s = start_pp(sluice, [up])
    with RawClient(s.port) as c:
        c.send(v1(SRC4, DST4) + request("/first"))
        assert c.read_response().status == 200
        c.send(v1(("198.51.100.66", 1), DST4) + request("/second"))
        r = c.read_response()
        assert r.status == 400, (r.status, r.body)
    up.wait_requests(1)
    time.sleep(0.1)
    assert [(q.target, q.value("X-Forwarded-For")) for q in up.snapshot()] == [("/first", SRC4[0])]


# -------------------------------------------------------------------------------- TLS listeners

@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,make,addr", HEADERS, ids=[h[0] for h in HEADERS])
def test_tls_listener_header_before_handshake(sluice, upstream, pki, name, make, addr):
    up = upstream("A", lambda r: Reply(body=b"secure"))
    s = start_pp(sluice, [up], listen_opts="tls proxy_protocol", certs=[pki.site])
    ctx = client_context(pki.root)
    with RawClient(s.port, source="127.0.0.3") as c:
        c.send(make())
        c.sock = ctx.wrap_socket(c.sock, server_hostname=SITE)
        c.send(request("/tls", host=SITE))
        r1 = c.read_response()
        c.send(request("/tls2", host=SITE, close=True))
        r2 = c.read_response()
    assert (r1.status, r1.body, r2.status) == (200, b"secure", 200)
    reqs = up.wait_requests(2)
    assert [q.target for q in reqs] == ["/tls", "/tls2"]
    for q in reqs:
        assert q.value("X-Forwarded-For") == addr, q.headers
        assert q.value("X-Forwarded-Proto") == "https"


@pytest.mark.deadline(30)
def test_tls_listener_without_header_closed(sluice, upstream, pki):
    """A TLS ClientHello where the header should be: no handshake, no answer, nothing
    upstream; a header sent after a TLS record is no better."""
    up = upstream("A")
    s = start_pp(sluice, [up], listen_opts="tls proxy_protocol", certs=[pki.site], header_timeout="10s")
    ctx = client_context(pki.root)
    t0 = time.monotonic()
    with RawClient(s.port) as c:
        with pytest.raises((ssl.SSLError, OSError)):
            c.sock = ctx.wrap_socket(c.sock, server_hostname=SITE)
    assert time.monotonic() - t0 < 3
    assert_nothing_upstream(up)
    # the listener works with a header
    with RawClient(s.port) as c:
        c.send(v1(SRC4, DST4))
        c.sock = ctx.wrap_socket(c.sock, server_hostname=SITE)
        c.send(request("/ok", host=SITE, close=True))
        assert c.read_response().status == 200
    [req] = up.wait_requests(1)
    assert (req.target, req.value("X-Forwarded-For")) == ("/ok", SRC4[0])


@pytest.mark.deadline(30)
def test_tls_listener_http2_after_header(sluice, upstream, pki):
    """Header in clear, TLS with ALPN h2, two HTTP/2 streams: both reach the upstream with
    the header's source."""
    up = upstream("A", lambda r: Reply(body=b"h2 " + r.target.encode()))
    s = start_pp(sluice, [up], listen_opts="tls proxy_protocol", certs=[pki.site])
    ctx = client_context(pki.root, alpn=("h2",))
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    raw.sendall(v2(SRC6, DST6))
    tls = ctx.wrap_socket(raw, server_hostname=SITE)
    assert tls.selected_alpn_protocol() == "h2"
    with h2_over(tls) as c:
        a = c.request("/a", authority=SITE, scheme="https")
        b = c.request("/b", authority=SITE, scheme="https")
        c.wait([a, b])
        assert (c.responses[a].status, c.responses[a].body) == (200, b"h2 /a")
        assert (c.responses[b].status, c.responses[b].body) == (200, b"h2 /b")
    reqs = up.wait_requests(2)
    assert sorted(q.target for q in reqs) == ["/a", "/b"]
    for q in reqs:
        assert q.value("X-Forwarded-For") == SRC6[0], q.headers
        assert q.value("X-Forwarded-Proto") == "https"


@pytest.mark.deadline(30)
def test_cleartext_http2_prior_knowledge_after_header(sluice, upstream):
    up = upstream("A", lambda r: Reply(body=b"h2c"))
    s = start_pp(sluice, [up])
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    raw.sendall(v1(SRC4, DST4))
    with h2_over(raw) as c:
        r = c.response(c.request("/h2c"))
        assert (r.status, r.body) == (200, b"h2c")
    [req] = up.wait_requests(1)
    assert (req.target, req.value("X-Forwarded-For")) == ("/h2c", SRC4[0])


# ---------------------------------------------------------------------------------- HAProxy in front

class HAProxy:
    def __init__(self, workdir, config: str, port: int):
        self.conf = workdir / f"haproxy-{port}.cfg"
        self.conf.write_text(config)
        self.log_path = workdir / f"haproxy-{port}.log"
        self._log = open(self.log_path, "wb")
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.conf)], capture_output=True, timeout=10)
        assert check.returncode == 0, check.stdout + check.stderr
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + 5
        while not port_accepts(port):
            assert self.proc.poll() is None, f"haproxy exited: {self.log_path.read_text()}"
            assert time.monotonic() < deadline, f"haproxy not listening: {self.log_path.read_text()}"
            time.sleep(0.05)

    def stop(self):
        terminate(self.proc)
        self._log.close()


@pytest.fixture
def haproxy(tmp_path):
    """haproxy(mode, listen_port, server_addr, server_options) -> running HAProxy."""
    if HAPROXY is None:
        pytest.skip("haproxy is not installed (Debian package haproxy)")

    def start(mode: str, port: int, server: str, options: str):
        text = f"""\
global
    nbthread 1
defaults
    mode {mode}
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend f
    bind 127.0.0.1:{port}
    default_backend b
backend b
    server s {server} {options}
"""
        return HAProxy(tmp_path, text, port)

    yield from factory(start)


def _settle_probe(up):
    """Readiness probes went through HAProxy (a connection with a header, then nothing):
    nothing must have reached the upstream from them."""
    time.sleep(0.1)
    assert up.total_bytes() == 0


@pytest.mark.deadline(40)
@pytest.mark.parametrize("mode,options", [("tcp", "send-proxy-v2"), ("tcp", "send-proxy"),
                                          ("tcp", "send-proxy-v2 proxy-v2-options crc32c"),
                                          ("http", "send-proxy-v2")],
                         ids=["tcp-v2", "tcp-v1", "tcp-v2-tlvs", "http-v2"])
def test_haproxy_in_front(sluice, upstream, haproxy, mode, options):
    """client (127.0.0.3) -> HAProxy -> sluice proxy_protocol listener -> upstream: the upstream
    sees the client's address, not HAProxy's (127.0.0.1), on every connection and request."""
    up = upstream("A", lambda r: Reply(body=b"behind haproxy"))
    s = start_pp(sluice, [up])
    hport = free_port()
    haproxy(mode, hport, f"127.0.0.1:{s.port}", options)
    _settle_probe(up)
    for i in range(3):
        with RawClient(hport, source="127.0.0.3") as c:
            c.send(request(f"/hp{i}"))
            r = c.read_response()
            assert (r.status, r.body) == (200, b"behind haproxy")
            c.send(request(f"/hp{i}b", extra="X-Forwarded-For: 6.6.6.6\r\n", close=True))
            assert c.read_response().status == 200
    reqs = up.wait_requests(6)
    assert sorted(q.target for q in reqs) == sorted(f"/hp{i}{x}" for i in range(3) for x in ("", "b"))
    for q in reqs:
        assert q.value("X-Forwarded-For") == "127.0.0.3", (q.target, q.headers)


@pytest.mark.deadline(40)
def test_haproxy_in_front_of_tls_listener(sluice, upstream, haproxy, pki):
    """HAProxy as an L4 balancer passing TLS through with send-proxy-v2: sluice takes the header,
    terminates TLS, and the upstream sees the client's address."""
    up = upstream("A", lambda r: Reply(body=b"tls behind haproxy"))
    s = start_pp(sluice, [up], listen_opts="tls proxy_protocol", certs=[pki.site])
    hport = free_port()
    haproxy("tcp", hport, f"127.0.0.1:{s.port}", "send-proxy-v2")
    _settle_probe(up)
    ctx = client_context(pki.root)
    with RawClient(hport, source="127.0.0.3") as c:
        c.sock = ctx.wrap_socket(c.sock, server_hostname=SITE)
        c.send(request("/tls-hp", host=SITE, close=True))
        r = c.read_response()
    assert (r.status, r.body) == (200, b"tls behind haproxy")
    [req] = up.wait_requests(1)
    assert req.value("X-Forwarded-For") == "127.0.0.3"
    assert req.value("X-Forwarded-Proto") == "https"


# --------------------------------------------------------------------------------- send_proxy


def forget_probes(up) -> None:
    """The readiness probe of the `sluice` fixture (a connect and a close) may have opened an
    upstream connection through a `mode tcp` frontend: wait for it to end, then forget it."""
    time.sleep(0.3)
    wait_until(lambda: not up.open_sockets(), 3, what="probe connections to end")
    up.reset()


def client_ids(c: RawClient) -> tuple:
    ip, port = c.sock.getsockname()[:2]
    return ip, port


@pytest.mark.deadline(30)
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_send_proxy_http(sluice, pp_upstream, version):
    """Two clients (127.0.0.1 and 127.0.0.3), two keep-alive requests each, interleaved: every
    upstream connection starts with one header of the right version naming the client of the
    requests it carries (address and port) and sluice's listening address, before the request
    bytes; no connection carries another client's request."""
    up = pp_upstream("P")
    port = free_port()
    s = sluice(http_config(port, [f"{up.addr} send_proxy={version}"]), ports=[port])
    a = RawClient(port, source="127.0.0.1")
    b = RawClient(port, source="127.0.0.3")
    who = {}
    try:
        for i in range(2):
            for name, c in (("a", a), ("b", b)):
                path = f"/{name}{i}"
                who[path] = client_ids(c)
                c.send(request(path))
                r = c.read_response()
                assert r.status == 200, (r.status, r.body)
    finally:
        a.close()
        b.close()
    reqs = up.wait_requests(4)
    assert sorted(q.target for q in reqs) == ["/a0", "/a1", "/b0", "/b1"]
    headers = up.headers_of()
    assert up.header_errors == [] and up.errors == []
    assert set(headers) == set(up.received), "a connection without a header"
    for cid, h in headers.items():
        assert h.version == int(version[1]) and h.command == "PROXY" and h.protocol == "TCP4", h
        assert h.destination == ("127.0.0.1", port), h
        if version == "v1":
            assert h.raw == b"PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (h.source[0].encode(), h.source[1], port)
        # the header comes first, then the request line
        assert bytes(up.received[cid]).startswith(b"GET /"), bytes(up.received[cid])[:80]
    for q in reqs:
        h = headers[q.conn_id]
        assert h.source == who[q.target], (q.target, h, who[q.target])
        assert q.value("X-Forwarded-For") == who[q.target][0]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_send_proxy_each_new_connection(sluice, pp_upstream, version):
    """Ten clients, one request each on its own connection: ten upstream connections, each with
    exactly one header for its client."""
    up = pp_upstream("P", lambda r: Reply(body=b"x", close=True))
    port = free_port()
    s = sluice(http_config(port, [f"{up.addr} send_proxy={version}"]), ports=[port])
    sources = []
    for i in range(10):
        src = "127.0.0.1" if i % 2 else "127.0.0.3"
        with RawClient(port, source=src) as c:
            sources.append(client_ids(c))
            c.send(request(f"/n{i}", close=True))
            assert c.read_response().status == 200
    reqs = up.wait_requests(10)
    assert len(reqs) == 10
    headers = up.wait_connections(10)
    assert up.header_errors == [] and up.errors == []
    assert len(headers) == len(up.received) == 10
    assert sorted(h.source for h in headers.values()) == sorted(sources)
    for q in reqs:
        assert headers[q.conn_id].source == sources[int(q.target[2:])]
        # exactly one header: the rest of the connection is the one request
        assert bytes(up.received[q.conn_id]) == q.raw


@pytest.mark.deadline(30)
@pytest.mark.parametrize("name,make,version", [
    ("v1-in-v2-out", lambda: v1(SRC4, DST4), "v2"),
    ("v2-in-v1-out", lambda: v2(SRC6, DST6), "v1"),
    ("v2-in-v2-out-v6", lambda: v2(SRC6, DST6), "v2"),
], ids=["v1-in-v2-out", "v2-in-v1-out", "v2-in-v2-out-v6"])
def test_send_proxy_passes_on_a_received_header(sluice, pp_upstream, name, make, version):
    """A client that came with a header (proxy_protocol listener) is named by that header's
    addresses in the header sent upstream: source and the destination it connected to."""
    up = pp_upstream("P")
    s = start_pp(sluice, [up], servers=[f"{up.addr} send_proxy={version}"])
    header = make()
    sent = parse(header)[0]
    r = exchange(s.port, header + request("/relay", close=True), source="127.0.0.3")
    assert r.status == 200
    [req] = up.wait_requests(1)
    [h] = up.headers_of().values()
    assert (h.source, h.destination) == (sent.source, sent.destination), h
    assert h.protocol == sent.protocol and h.version == int(version[1])
    assert req.value("X-Forwarded-For") == sent.source[0]


@pytest.mark.deadline(30)
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_send_proxy_tcp_mode(sluice, pp_upstream, version):
    """`mode tcp`: the upstream gets the header, then exactly the client's bytes (echoed back)."""
    up = pp_upstream("T", tcp=True)
    port = free_port()
    sluice(tcp_config(port, f"{up.addr} send_proxy={version}"), ports=[port])
    forget_probes(up)
    payload = b"PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n" + os.urandom(200000)   # looks like a header: just data
    with RawClient(port, source="127.0.0.3") as c:
        me = client_ids(c)
        c.send(payload)
        assert c._exact(len(payload)) == payload
        c.sock.shutdown(socket.SHUT_WR)
        assert c.wait_closed(3) == b""
    [h] = up.wait_connections(1).values()
    assert up.header_errors == []
    assert (h.version, h.command, h.protocol) == (int(version[1]), "PROXY", "TCP4")
    assert h.source == me and h.destination == ("127.0.0.1", port), h
    wait_until(lambda: sum(len(b) for b in up.received.values()) >= len(payload), 3, what="payload upstream")
    assert [bytes(b) for b in up.received.values()] == [payload]


@pytest.mark.deadline(30)
def test_tcp_mode_proxy_protocol_listener_and_send_proxy(sluice, pp_upstream, upstream):
    """`mode tcp` with a proxy_protocol listener and send_proxy=v1: the header's source goes on
    upstream; the bytes after the client's header are forwarded untouched; a connection without
    a header reaches nothing."""
    up = pp_upstream("T", tcp=True)
    port = free_port()
    sluice(tcp_config(port, f"{up.addr} send_proxy=v1", "proxy_protocol", header_timeout="5s"), ports=[port])
    forget_probes(up)
    payload = b"hello raw bytes\r\n\x00\xff" * 100
    with RawClient(port) as c:
        c.send(v2(SRC6, DST6) + payload)
        assert c._exact(len(payload)) == payload
    [h] = up.wait_connections(1).values()
    assert h.raw == v1(SRC6, DST6), h.raw
    wait_until(lambda: sum(len(b) for b in up.received.values()) >= len(payload), 3, what="payload upstream")
    assert [bytes(b) for b in up.received.values()] == [payload]
    # no header: closed, nothing upstream
    assert assert_closed_silently(port, b"GET / HTTP/1.1\r\n\r\n" + payload, within=3.0) < 3
    time.sleep(0.1)
    assert len(up.headers_of()) == 1 and len(up.received) == 1


@pytest.mark.deadline(30)
def test_send_proxy_before_tls_to_upstream(sluice, pki):
    """`server ... tls send_proxy=v2`: the header in clear, then the TLS handshake, then the
    request inside TLS."""
    up = ProxyTLSUpstream("S", pki.up, lambda r: Reply(body=b"tls up"))
    try:
        port = free_port()
        sluice(http_config(port, [f"{up.addr} tls ca={pki.root.cert} sni=up.test send_proxy=v2"]), ports=[port])
        with RawClient(port, source="127.0.0.3") as c:
            me = client_ids(c)
            c.send(request("/enc", close=True))
            r = c.read_response()
        assert (r.status, r.body) == (200, b"tls up")
        [req] = up.wait_requests(1)
        [h] = up.headers_of().values()
        assert up.header_errors == [] and up.tls_errors == []
        assert h.source == me and h.destination == ("127.0.0.1", port)
        assert up.handshakes and up.handshakes[0][0] == "up.test"
        assert req.target == "/enc" and req.value("X-Forwarded-For") == "127.0.0.3"
    finally:
        up.stop()


@pytest.mark.deadline(40)
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_two_sluices_chained(sluice, upstream, tmp_path, version):
    """client 127.0.0.3 -> front sluice (server send_proxy) -> back sluice (proxy_protocol
    listener) -> upstream: the back's upstream sees the original client in X-Forwarded-For
    (not the front's 127.0.0.1), its access log too."""
    up = upstream("A", lambda r: Reply(body=b"end"))
    log = tmp_path / "back.json"
    back = start_pp(sluice, [up], name="back", frontend_extra=f'    access_log "{log}" json;\n')
    fport = free_port()
    sluice(http_config(fport, [f"127.0.0.1:{back.port} send_proxy={version}"]), ports=[fport], name="front")
    with RawClient(fport, source="127.0.0.3") as c:
        for i in range(3):
            c.send(request(f"/chain{i}", extra="X-Forwarded-For: 6.6.6.6\r\n"))
            r = c.read_response()
            assert (r.status, r.body) == (200, b"end")
    reqs = up.wait_requests(3)
    assert [q.target for q in reqs] == ["/chain0", "/chain1", "/chain2"]
    for q in reqs:
        assert q.value("X-Forwarded-For") == "127.0.0.3", q.headers
    lines = json_lines(log, 3)
    assert {d["client"] for d in lines} == {"127.0.0.3"}, lines


@pytest.mark.deadline(40)
def test_tcp_balancer_sluice_in_front_of_http_sluice(sluice, upstream):
    """An L4 sluice (`mode tcp`, send_proxy=v2) in front of an L7 sluice (proxy_protocol
    listener): the upstream sees the client's address on keep-alive requests."""
    up = upstream("A")
    back = start_pp(sluice, [up], name="back")
    fport = free_port()
    sluice(tcp_config(fport, f"127.0.0.1:{back.port} send_proxy=v2"), ports=[fport], name="l4")
    time.sleep(0.1)
    with RawClient(fport, source="127.0.0.3") as c:
        c.send(request("/l4a"))
        assert c.read_response().status == 200
        c.send(request("/l4b", close=True))
        assert c.read_response().status == 200
    reqs = up.wait_requests(2)
    assert [(q.target, q.value("X-Forwarded-For")) for q in reqs] == [("/l4a", "127.0.0.3"), ("/l4b", "127.0.0.3")]
