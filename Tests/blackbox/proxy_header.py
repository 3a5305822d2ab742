"""The PROXY protocol (HAProxy's doc/proxy-protocol.txt) for the black-box tests: headers built
byte for byte (v1 text line, v2 binary with TLVs, LOCAL, UNKNOWN, UNSPEC), a strict parser, and
upstreams that read one header at the start of every connection before serving it.

    v1(("203.0.113.7", 5555), ("192.0.2.1", 80))       # b"PROXY TCP4 203.0.113.7 192.0.2.1 5555 80\\r\\n"
    v2(("2001:db8::7", 5555), ("2001:db8::1", 443))    # 16 bytes + 36-byte address block
    parse(data) -> (Header, length)   # raises Incomplete / ValueError

* ``ProxyUpstream``: a ``RecordingUpstream`` that first reads exactly one PROXY header from each
  connection (``send_proxy=`` on a server) and records it in ``headers[cid]`` (the parsed
  header) and ``header_bytes[cid]`` (its bytes); what follows is served as usual (HTTP, or TCP
  echo with ``tcp=True``) and recorded in ``received[cid]``.  A connection that does not start
  with a valid header is recorded in ``header_errors`` and closed.
* ``ProxyTLSUpstream``: the same in front of ``TLSUpstream`` (the header comes in clear, before
  the handshake).
"""
from __future__ import annotations

import ipaddress
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Optional

from servers import RecordingUpstream, TLSUpstream

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX = 107                       # the longest v1 line, CRLF included

# v2 command, family, transport
LOCAL, PROXY = 0x0, 0x1
AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX = 0x0, 0x1, 0x2, 0x3
UNSPEC, STREAM, DGRAM = 0x0, 0x1, 0x2
# v2 TLV types
PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, PP2_TYPE_CRC32C, PP2_TYPE_NOOP, PP2_TYPE_UNIQUE_ID = 0x01, 0x02, 0x03, 0x04, 0x05


class Incomplete(Exception):
    """The bytes so far are a valid beginning of a header."""


@dataclass
class Header:
    version: int                   # 1 or 2
    command: str                   # "PROXY" or "LOCAL" (v1: always PROXY)
    protocol: str                  # v1: TCP4 / TCP6 / UNKNOWN; v2: TCP4 / TCP6 / UDP4 / UDP6 / UNIX / UNSPEC
    source: Optional[tuple] = None          # (address text, port), None when not carried
    destination: Optional[tuple] = None
    tlvs: list = field(default_factory=list)  # v2: [(type, value bytes)]
    raw: bytes = b""


def _family(addr: str) -> int:
    return ipaddress.ip_address(addr).version


# ------------------------------------------------------------------------------ builders

def v1(source: tuple, destination: tuple) -> bytes:
    """`PROXY TCP4|TCP6 SRC DST SPORT DPORT\\r\\n` (the family from the source address)."""
    proto = "TCP4" if _family(source[0]) == 4 else "TCP6"
    return (f"PROXY {proto} {source[0]} {destination[0]} {source[1]} {destination[1]}\r\n"
            .encode("ascii"))


def v1_unknown(rest: str = "") -> bytes:
    """`PROXY UNKNOWN[ rest]\\r\\n`: the receiver keeps the connection's own addresses."""
    return b"PROXY UNKNOWN" + ((" " + rest).encode("ascii") if rest else b"") + b"\r\n"


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!BH", kind, len(value)) + value


def v2(source: Optional[tuple] = None, destination: Optional[tuple] = None, *,
       command: int = PROXY, family: Optional[int] = None, transport: int = STREAM,
       tlvs=(), block: Optional[bytes] = None, version: int = 2) -> bytes:
    """A v2 header.  The address block comes from `source` and `destination` (family from the
    source address unless given), or is `block` verbatim; `tlvs`: [(type, bytes)] appended."""
    if block is None:
        if source is None:
            block = b""
            family = AF_UNSPEC if family is None else family
        else:
            fam = _family(source[0])
            if family is None:
                family = AF_INET if fam == 4 else AF_INET6
            packed = ipaddress.ip_address(source[0]).packed + ipaddress.ip_address(destination[0]).packed
            block = packed + struct.pack("!HH", source[1], destination[1])
    elif family is None:
        family = AF_UNSPEC
    rest = block + b"".join(tlv(k, v) for k, v in tlvs)
    return (V2_SIGNATURE + bytes([(version << 4) | command, (family << 4) | transport])
            + struct.pack("!H", len(rest)) + rest)


def v2_local(tlvs=()) -> bytes:
    """LOCAL, AF_UNSPEC, no addresses: what HAProxy sends for its own health checks."""
    return v2(command=LOCAL, transport=UNSPEC, tlvs=tlvs)


# ------------------------------------------------------------------------------- parser

def parse(data: bytes):
    """Strict parser: (Header, length of the header) from the start of `data`.  Raises
    `Incomplete` when more bytes are needed, ValueError when `data` is not a valid header."""
    if not data:
        raise Incomplete()
    if data[:1] == b"P":
        return _parse_v1(data)
    if data[:1] == b"\r":
        return _parse_v2(data)
    raise ValueError(f"not a PROXY header: {data[:16]!r}")


def _parse_v1(data: bytes):
    if b"PROXY "[:len(data[:6])] != data[:6]:
        raise ValueError(f"not a PROXY header: {data[:16]!r}")
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX or b"\n" in data or (b"\r" in data[:-1]):
            raise ValueError(f"v1 line without CRLF within {V1_MAX} bytes: {data[:V1_MAX]!r}")
        raise Incomplete()
    line = data[:end]
    if any(b < 0x20 or b > 0x7e for b in line):
        raise ValueError(f"v1 line with control bytes: {line!r}")
    parts = line.decode("ascii").split(" ")
    if parts[0] != "PROXY" or len(parts) < 2:
        raise ValueError(f"bad v1 line {line!r}")
    if parts[1] == "UNKNOWN":
        return Header(1, "PROXY", "UNKNOWN", raw=data[:end + 2]), end + 2
    if parts[1] not in ("TCP4", "TCP6") or len(parts) != 6:
        raise ValueError(f"bad v1 line {line!r}")
    want = 4 if parts[1] == "TCP4" else 6
    src, dst = ipaddress.ip_address(parts[2]), ipaddress.ip_address(parts[3])
    if src.version != want or dst.version != want:
        raise ValueError(f"v1 addresses of the wrong family: {line!r}")
    ports = []
    for p in parts[4:6]:
        if not p.isdigit() or (len(p) > 1 and p[0] == "0") or int(p) > 65535:
            raise ValueError(f"bad v1 port {p!r} in {line!r}")
        ports.append(int(p))
    return Header(1, "PROXY", parts[1], (str(src), ports[0]), (str(dst), ports[1]),
                  raw=data[:end + 2]), end + 2


def _parse_v2(data: bytes):
    n = min(len(data), 12)
    if data[:n] != V2_SIGNATURE[:n]:
        raise ValueError(f"not a PROXY header: {data[:16]!r}")
    if len(data) < 16:
        raise Incomplete()
    ver_cmd, fam_proto = data[12], data[13]
    if ver_cmd >> 4 != 2:
        raise ValueError(f"v2 version {ver_cmd >> 4}")
    command = {0: "LOCAL", 1: "PROXY"}.get(ver_cmd & 0xF)
    if command is None:
        raise ValueError(f"v2 command {ver_cmd & 0xF}")
    family, transport = fam_proto >> 4, fam_proto & 0xF
    if family > 3 or transport > 2:
        raise ValueError(f"v2 family/transport {fam_proto:#x}")
    length = 16 + struct.unpack("!H", data[14:16])[0]
    if len(data) < length:
        raise Incomplete()
    body = data[16:length]
    size = {AF_UNSPEC: 0, AF_INET: 12, AF_INET6: 36, AF_UNIX: 216}[family]
    if transport == UNSPEC:
        size = 0
    if len(body) < size:
        raise ValueError(f"v2 address block of {len(body)} bytes for family {family}")
    block, rest = body[:size], body[size:]
    tlvs = []
    while rest:
        if len(rest) < 3:
            raise ValueError(f"v2 TLV truncated: {rest!r}")
        kind, ln = struct.unpack("!BH", rest[:3])
        if len(rest) < 3 + ln:
            raise ValueError("v2 TLV overruns the header")
        tlvs.append((kind, rest[3:3 + ln]))
        rest = rest[3 + ln:]
    proto = {(AF_INET, STREAM): "TCP4", (AF_INET6, STREAM): "TCP6", (AF_INET, DGRAM): "UDP4",
             (AF_INET6, DGRAM): "UDP6"}.get((family, transport), "UNIX" if family == AF_UNIX else "UNSPEC")
    source = destination = None
    if family in (AF_INET, AF_INET6) and transport != UNSPEC:
        w = 4 if family == AF_INET else 16
        sa, da = ipaddress.ip_address(block[:w]), ipaddress.ip_address(block[w:2 * w])
        sp, dp = struct.unpack("!HH", block[2 * w:2 * w + 4])
        source, destination = (str(sa), sp), (str(da), dp)
    return Header(2, command, proto, source, destination, tlvs, data[:length]), length


def read_header(sock: socket.socket, timeout: float = 5.0):
    """Reads exactly one header from `sock` (never a byte beyond it): (Header or None, the bytes
    read, error text or None)."""
    old = sock.gettimeout()
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            try:
                header, length = parse(data)
                assert length == len(data)
                return header, data, None
            except Incomplete:
                pass
            except ValueError as e:
                return None, data, str(e)
            # v1: a byte at a time (the line's end is not known); v2: exactly what is missing
            need = 1
            if data[:1] == b"\r" and len(data) >= 16 and data[:12] == V2_SIGNATURE:
                need = 16 + struct.unpack("!H", data[14:16])[0] - len(data)
            elif data[:1] == b"\r":
                need = 16 - len(data)
            chunk = sock.recv(need)
            if not chunk:
                return None, data, f"EOF after {len(data)} bytes of header"
            data += chunk
    except socket.timeout:
        return None, data, f"no complete header within {timeout}s ({data!r})"
    finally:
        try:
            sock.settimeout(old)
        except OSError:
            pass


# ---------------------------------------------------------------------------- upstreams

class _ReadsProxyHeader:
    """Mixin for RecordingUpstream and its subclasses: each connection's PROXY header is read and
    recorded before the connection is served as usual."""

    def _init_proxy(self):
        self.headers: dict[int, Header] = {}
        self.header_bytes: dict[int, bytes] = {}
        self.header_times: dict[int, float] = {}
        self.header_errors: list[str] = []

    def handle(self, sock: socket.socket, cid: int) -> None:
        header, data, error = read_header(sock)
        with self.lock:
            self.header_bytes[cid] = data
            if header is None:
                self.header_errors.append(f"conn {cid}: {error}")
                return
            self.headers[cid] = header
            self.header_times[cid] = time.monotonic()
        super().handle(sock, cid)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.headers.clear()
            self.header_bytes.clear()
            self.header_times.clear()
            self.header_errors.clear()

    def headers_of(self) -> dict:
        with self.lock:
            return dict(self.headers)

    def wait_connections(self, n: int, timeout: float = 3.0) -> dict:
        """Wait for `n` connections with their header read (or failed); {cid: Header}."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.headers) + len(self.header_errors) >= n:
                    break
            time.sleep(0.01)
        return self.headers_of()


class ProxyUpstream(_ReadsProxyHeader, RecordingUpstream):
    def __init__(self, name: str = "pp", handler=None, **kw):
        self._init_proxy()
        super().__init__(name, handler, **kw)


class ProxyTLSUpstream(_ReadsProxyHeader, TLSUpstream):
    def __init__(self, name: str, leaf, handler=None, **kw):
        self._init_proxy()
        super().__init__(name, leaf, handler, **kw)
