"""RFC 9113 conformance, one case per MUST sluice enforces, on the running binary: each malformed
request is a stream error (RST_STREAM with its code) or a connection error (GOAWAY with its code),
and none reaches the upstream."""
import socket
import struct
import time

import pytest

from h2_clients import PREFACE, frame
from servers import Reply
from test_http2_limits import get_block

PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR = 1, 3, 6
DATA, HEADERS, PRIORITY, SETTINGS, PING, WINDOW_UPDATE = 0, 1, 2, 4, 6, 8
END_STREAM, END_HEADERS = 0x1, 0x4


def lit(name: bytes, value: bytes) -> bytes:
    """A literal field without indexing and without Huffman coding (short names and values)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


BASE = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"example.test")]


def block(fields) -> bytes:
    return b"".join(lit(n, v) for n, v in fields)


def request(fields, *extra_frames, flags=END_STREAM | END_HEADERS):
    return frame(HEADERS, flags, 1, block(fields)) + b"".join(extra_frames)


def settings(ident, value):
    return frame(SETTINGS, 0, 0, struct.pack(">HI", ident, value))


# (case, what the client sends after the preface and an empty SETTINGS, expected error kind, code)
CASES = [
    ("uppercase field name", request(BASE + [(b"X-Upper", b"1")]), "stream", PROTOCOL_ERROR),
    ("connection-specific field", request(BASE + [(b"connection", b"keep-alive")]), "stream", PROTOCOL_ERROR),
    ("transfer-encoding", request(BASE + [(b"transfer-encoding", b"chunked")]), "stream", PROTOCOL_ERROR),
    ("te other than trailers", request(BASE + [(b"te", b"gzip")]), "stream", PROTOCOL_ERROR),
    ("pseudo-header after a regular field", request(BASE[:3] + [(b"accept", b"*/*"), (b":authority", b"a")]), "stream", PROTOCOL_ERROR),
    ("unknown pseudo-header", request(BASE + [(b":foo", b"bar")]), "stream", PROTOCOL_ERROR),
    ("duplicate :path", request(BASE + [(b":path", b"/again")]), "stream", PROTOCOL_ERROR),
    ("missing :path", request([f for f in BASE if f[0] != b":path"]), "stream", PROTOCOL_ERROR),
    ("empty :path", request([(b":method", b"GET"), (b":scheme", b"http"), (b":path", b""), (b":authority", b"a")]), "stream", PROTOCOL_ERROR),
    (":path not starting with /", request([(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"x"), (b":authority", b"a")]), "stream", PROTOCOL_ERROR),
    ("response pseudo-header in a request", request(BASE + [(b":status", b"200")]), "stream", PROTOCOL_ERROR),
    ("field value with CR LF", request(BASE + [(b"x-a", b"1\r\nx-b: 2")]), "stream", PROTOCOL_ERROR),
    ("field value with NUL", request(BASE + [(b"x-a", b"1\x002")]), "stream", PROTOCOL_ERROR),
    ("leading whitespace in a value", request(BASE + [(b"x-a", b" 1")]), "stream", PROTOCOL_ERROR),
    ("host differs from :authority", request(BASE + [(b"host", b"other.test")]), "stream", PROTOCOL_ERROR),
    ("userinfo in :authority", request(BASE[:3] + [(b":authority", b"user@example.test")]), "stream", PROTOCOL_ERROR),
    ("content-length differs from DATA", request(BASE + [(b"content-length", b"5")],
                                                  frame(DATA, END_STREAM, 1, b"abc"), flags=END_HEADERS), "stream", PROTOCOL_ERROR),
    ("HEADERS on stream 0", frame(HEADERS, END_STREAM | END_HEADERS, 0, block(BASE)), "connection", PROTOCOL_ERROR),
    ("even stream id from a client", frame(HEADERS, END_STREAM | END_HEADERS, 2, block(BASE)), "connection", PROTOCOL_ERROR),
    ("DATA on an idle stream", frame(DATA, 0, 5, b"x"), "connection", PROTOCOL_ERROR),
    ("PRIORITY on an idle stream depending on itself", frame(PRIORITY, 0, 1, struct.pack(">IB", 1, 16)),
     "connection", PROTOCOL_ERROR),
    ("SETTINGS_ENABLE_PUSH of 2", settings(0x2, 2), "connection", PROTOCOL_ERROR),
    ("SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1", settings(0x4, 1 << 31), "connection", FLOW_CONTROL_ERROR),
    ("SETTINGS_MAX_FRAME_SIZE below 16384", settings(0x5, 100), "connection", PROTOCOL_ERROR),
    ("SETTINGS of a length not a multiple of 6", frame(SETTINGS, 0, 0, b"\x00\x02\x00"), "connection", FRAME_SIZE_ERROR),
    ("WINDOW_UPDATE of 0 on the connection", frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)), "connection", PROTOCOL_ERROR),
    ("PING of 7 bytes", frame(PING, 0, 0, b"1234567"), "connection", FRAME_SIZE_ERROR),
    ("frame larger than SETTINGS_MAX_FRAME_SIZE", frame(HEADERS, END_HEADERS, 1, block(BASE)) + frame(DATA, 0, 1, b"x" * 20000),
     "connection", FRAME_SIZE_ERROR),
]


def errors_after(port, payload, timeout=3.0):
    """Sends the preface, an empty SETTINGS and `payload`; returns the RST_STREAM and GOAWAY codes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0) + payload)
    s.settimeout(timeout)
    buf, resets, goaway = b"", {}, None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and goaway is None and not resets:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                length = int.from_bytes(buf[:3], "big")
                kind, sid, body = buf[3], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + length]
                buf = buf[9 + length:]
                if kind == 3:
                    resets[sid] = struct.unpack(">I", body)[0]
                elif kind == 7:
                    goaway = struct.unpack(">II", body[:8])[1]
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return resets, goaway


@pytest.mark.parametrize("case, payload, kind, code", CASES, ids=[c[0] for c in CASES])
def test_rfc9113(proxy, upstream, case, payload, kind, code):
    up = upstream("A", lambda r: Reply(body=b"must not be reached"))
    s = proxy(up)
    resets, goaway = errors_after(s.port, payload)
    if kind == "stream":
        assert resets.get(1) == code or goaway == code, (case, resets, goaway)
    else:
        assert goaway == code, (case, resets, goaway)
    time.sleep(0.1)
    assert up.requests == [], f"{case}: a malformed request reached the upstream"


def test_bad_preface_closes_with_protocol_error(proxy, upstream):
    up = upstream("A")
    s = proxy(up)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=3)
    c.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + frame(SETTINGS, 0, 0))
    c.settimeout(3)
    data = b""
    try:
        while chunk := c.recv(65536):
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    assert not data.startswith(b"HTTP/1.1 200"), data[:60]
    assert up.requests == []
