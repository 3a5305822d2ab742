"""HTTP/2 under attack: each flood ends in GOAWAY ENHANCE_YOUR_CALM (or a timeout) with the
work it caused bounded, the error log naming it, and other clients served meanwhile; plus the
limits a normal client meets (concurrent streams, header list size, idle and stalled connections)."""
import hashlib
import socket
import struct
import time

import hpack
import pytest

from clients import get
from h2_clients import PREFACE, H2Client, frame
from servers import Reply, StallingUpstream

ENHANCE_YOUR_CALM = 11
REFUSED_STREAM = 7
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
SETTINGS_MAX_CONCURRENT_STREAMS = 3


def get_block(path=b"/", authority=b"example.test"):
    """An HPACK block for GET http://authority/path without Huffman or indexing of new fields."""
    def literal(name: bytes, value: bytes) -> bytes:
        return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
    return b"\x82\x86" + literal(b":path", path) + literal(b":authority", authority)   # :method GET, :scheme http


def raw_connection(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return s


def frames_from(s, timeout=5.0):
    """Yields the frames the server sends, as (type, flags, stream id, payload), until the
    connection closes or `timeout` seconds have passed."""
    s.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            length = int.from_bytes(buf[:3], "big")
            yield buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + length]
            buf = buf[9 + length:]


def read_goaway(s, timeout=5.0):
    """Reads frames until GOAWAY: (last stream id, error code); None if the connection closes first."""
    for kind, _, _, payload in frames_from(s, timeout):
        if kind == GOAWAY:
            return struct.unpack(">II", payload[:8])
    return None


def still_serving(port):
    t0 = time.monotonic()
    assert get(port, "/other").status == 200
    assert time.monotonic() - t0 < 1.0, "another client waited"


def test_rapid_reset_ends_in_enhance_your_calm(proxy, upstream):
    up = upstream("A", lambda r: Reply(body=b"x", delay=0.2))
    s = proxy(up)
    c = raw_connection(s.port)
    burst = b""
    for i in range(400):
        sid = 1 + 2 * i
        burst += frame(HEADERS, END_STREAM | END_HEADERS, sid, get_block(b"/r%d" % i)) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
    c.sendall(burst)
    goaway = read_goaway(c)
    assert goaway is not None and goaway[1] == ENHANCE_YOUR_CALM, goaway
    still_serving(s.port)
    time.sleep(0.5)
    assert len(up.requests) < 200, f"{len(up.requests)} of 400 cancelled requests reached the upstream"
    s.wait_log(r"GOAWAY ENHANCE_YOUR_CALM: .*reset")
    c.close()


@pytest.mark.parametrize("name, flood", [
    ("settings", lambda: frame(SETTINGS, 0, 0) * 1000),
    ("ping", lambda: frame(PING, 0, 0, b"12345678") * 1000),
    ("empty data", lambda: frame(HEADERS, END_HEADERS, 1, get_block()) + frame(DATA, 0, 1) * 1000),
    ("continuation", lambda: frame(HEADERS, 0, 1, get_block()[:2]) + frame(CONTINUATION, 0, 1, b"") * 200),
])
def test_floods_end_in_enhance_your_calm(proxy, upstream, name, flood):
    up = upstream("A")
    s = proxy(up)
    c = raw_connection(s.port)
    try:
        c.sendall(flood())
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway = read_goaway(c)
    assert goaway is not None and goaway[1] == ENHANCE_YOUR_CALM, (name, goaway)
    still_serving(s.port)
    s.wait_log(r"HTTP/2 client .*GOAWAY ENHANCE_YOUR_CALM")
    c.close()


def test_hpack_amplification_is_bounded(proxy, upstream):
    """One 4 KiB header value put in the dynamic table, then named by one byte hundreds of times:
    the decoded size is bounded long before it reaches the data path."""
    up = upstream("A")
    s = proxy(up)
    c = raw_connection(s.port)
    value = b"v" * 4000
    # A literal with incremental indexing, new name "x-bg", value length 4000 (7-bit prefix integer).
    n = 4000 - 127
    prefix = b""
    while n >= 128:
        prefix += bytes([n % 128 + 128])
        n //= 128
    prefix += bytes([n])
    first = get_block(b"/a") + b"\x40\x04x-bg\x7f" + prefix + value
    block = get_block(b"/b") + b"\xbe" * 3000
    c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, first) + frame(HEADERS, END_STREAM | END_HEADERS, 3, block))
    goaway = read_goaway(c)
    assert goaway is not None and goaway[1] == ENHANCE_YOUR_CALM, goaway
    assert [r.target for r in up.requests] in ([], ["/a"]), "the amplified request reached the upstream"
    still_serving(s.port)


def test_header_list_over_max_header_size_is_431_on_its_stream(proxy, upstream):
    up = upstream("A")
    s = proxy(up, frontend_extra="    max_header_size 4k;")
    with H2Client(s.port) as c:
        big = c.request("/big", headers=[("x-long", "y" * 6000)])
        r = c.response(big)
        assert r.status == 431
        assert c.response(c.request("/small")).status == 200, "the connection goes on"
    assert [q.target for q in up.requests] == ["/small"]


@pytest.mark.parametrize("acknowledged", [False, True], ids=["before-settings-ack", "after-settings-ack"])
def test_streams_beyond_the_limit_are_refused(proxy, upstream, acknowledged):
    """SPEC §6: streams beyond the 128 of SETTINGS_MAX_CONCURRENT_STREAMS get RST_STREAM
    REFUSED_STREAM, whether or not the client has acknowledged the SETTINGS that announced the
    limit (RFC 9113 §5.1.2: a stream error), never reach the upstream, and the connection goes on."""
    up = upstream("A", lambda r: Reply(body=b"ok", delay=0.5))
    s = proxy(up, backend_extra="    keepalive 200;")
    c = raw_connection(s.port)
    frames = frames_from(c, timeout=10)
    if acknowledged:
        settings = next(p for kind, flags, _, p in frames if kind == SETTINGS and not flags & ACK)
        entries = dict(struct.unpack(">HI", settings[i:i + 6]) for i in range(0, len(settings), 6))
        assert entries[SETTINGS_MAX_CONCURRENT_STREAMS] == 128, entries
        c.sendall(frame(SETTINGS, ACK, 0))
    c.sendall(b"".join(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, get_block(b"/c%d" % i))
                       for i in range(130)))
    refused, answered = set(), set()
    for kind, _, sid, payload in frames:
        assert kind != GOAWAY, f"GOAWAY {struct.unpack('>II', payload[:8])}"
        if kind == RST_STREAM and struct.unpack(">I", payload)[0] == REFUSED_STREAM:
            refused.add(sid)
        elif kind == HEADERS:
            answered.add(sid)
        if len(refused) + len(answered) == 130:
            break
    assert refused == {257, 259}, refused
    assert answered == set(range(1, 257, 2)), sorted(set(range(1, 257, 2)) - answered)[:10]
    c.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 261, get_block(b"/after")))
    assert any(kind == HEADERS and sid == 261 for kind, _, sid, _ in frames), "no answer after the refusals"
    assert sorted(r.target for r in up.requests) == sorted(["/c%d" % i for i in range(128)] + ["/after"]), \
        "only the streams within the limit, and the one after, reached the upstream"
    c.close()


def test_idle_connection_gets_goaway(proxy, upstream):
    s = proxy(upstream("A"), frontend_extra="    timeout idle 1s;")
    with H2Client(s.port) as c:
        assert c.response(c.request("/")).status == 200
        t0 = time.monotonic()
        goaway = c.wait_goaway(4)
        assert goaway.error_code == 0 and 0.8 < time.monotonic() - t0 < 2.5
        c.wait_closed(3)


def test_zero_window_stall_is_bounded_by_timeout_send(proxy, upstream):
    big = b"z" * 200_000
    s = proxy(upstream("A", lambda r: Reply(body=big)), frontend_extra="    timeout send 1s;")
    with H2Client(s.port, window=0) as c:
        c.auto_window = False
        sid = c.request("/big")
        t0 = time.monotonic()
        c.wait_closed(5)
        assert 0.8 < time.monotonic() - t0 < 3.5, "a client that opens no window is closed after timeout send"
        assert len(c.responses[sid].body) == 0
    still_serving(s.port)


def test_tiny_data_frames_to_a_stalled_upstream_are_flow_controlled(proxy, request):
    """A chunked upload in 1-byte DATA frames gains 5 bytes of chunk framing per byte: against an
    upstream that does not read, the proxy stops taking the client's bytes (TCP and the stream
    window push back) instead of filling its buffer six times over, and every byte arrives once
    the upstream reads."""
    up = StallingUpstream()
    request.addfinalizer(up.stop)
    s = proxy(servers=[up.addr], read_timeout="60s")
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.setblocking(False)
    post = b"\x83\x86" + b"\x00\x05:path\x07/upload" + b"\x00\x0a:authority\x0cexample.test"
    c.sendall(PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, post))
    pattern = [frame(DATA, 0, 1, bytes([i])) for i in range(251)]
    windows = {"connection": 65535, "stream": 65535}
    advertised = {}
    inbound, status, body, sent, ended = b"", None, b"", 0, False

    def take_frames():
        nonlocal inbound, status, body, ended
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    raise AssertionError("the proxy closed the connection")
                inbound += chunk
        except BlockingIOError:
            pass
        while len(inbound) >= 9 and len(inbound) >= 9 + int.from_bytes(inbound[:3], "big"):
            length = int.from_bytes(inbound[:3], "big")
            kind, flags, stream = inbound[3], inbound[4], int.from_bytes(inbound[5:9], "big") & 0x7FFFFFFF
            payload, inbound = inbound[9:9 + length], inbound[9 + length:]
            if kind == SETTINGS and not flags & 1:
                for i in range(0, len(payload), 6):
                    ident, value = struct.unpack(">HI", payload[i:i + 6])
                    advertised[ident] = value
                    if ident == 4:
                        windows["stream"] += value - 65535
                c.sendall(frame(SETTINGS, 1, 0))
            elif kind == 8:
                windows["connection" if stream == 0 else "stream"] += struct.unpack(">I", payload)[0] & 0x7FFFFFFF
            elif kind in (RST_STREAM, 7):
                raise AssertionError("frame %d from the proxy: %r" % (kind, payload))
            elif kind == HEADERS:
                status = dict(hpack.Decoder().decode(payload)).get(":status")
                ended = ended or bool(flags & END_STREAM)
            elif kind == DATA:
                body += payload
                ended = ended or bool(flags & END_STREAM)

    def send_what_the_windows_allow(limit):
        nonlocal sent
        n = min(windows["connection"], windows["stream"], 8192, limit - sent)
        if n > 0:
            c.setblocking(True)
            c.sendall(b"".join(pattern[(sent + i) % 251] for i in range(n)))
            c.setblocking(False)
            sent += n
            for w in windows:
                windows[w] -= n
        return n

    # Until the proxy has stopped opening windows for a whole second: its upstream socket is full.
    blocked_since, deadline = None, time.monotonic() + 30
    while time.monotonic() < deadline:
        take_frames()
        assert status is None, "the proxy answered %r before the upstream read anything" % status
        if send_what_the_windows_allow(50_000_000) > 0:
            blocked_since = None
        elif blocked_since is None:
            blocked_since = time.monotonic()
        elif time.monotonic() - blocked_since > 1.0:
            break
        else:
            time.sleep(0.01)
    assert blocked_since is not None and time.monotonic() - blocked_since > 1.0, "the proxy never pushed back"
    assert advertised.get(4) == 65536, "SPEC §6: a 64 KiB stream window"
    up.release()
    total = sent + 20_000
    deadline = time.monotonic() + 30
    while sent < total and time.monotonic() < deadline:
        take_frames()
        if send_what_the_windows_allow(total) == 0:
            time.sleep(0.005)
    assert sent == total
    c.setblocking(True)
    c.sendall(frame(DATA, END_STREAM, 1))
    c.setblocking(False)
    deadline = time.monotonic() + 30
    while not ended and time.monotonic() < deadline:
        take_frames()
        time.sleep(0.01)
    expected = bytes(i % 251 for i in range(total))
    assert status == "200" and body == b"%s %d" % (hashlib.sha256(expected).hexdigest().encode(), total)
    c.close()
