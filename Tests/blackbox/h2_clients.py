"""An HTTP/2 client for the black-box tests, on Python's `h2` (hyper-h2): real frames on a real
socket (cleartext with prior knowledge, or TLS with ALPN h2), with hooks to send raw frames
for the attack and conformance tests.

    with H2Client(port) as c:
        sid = c.request("/path")
        r = c.response(sid)          # .status, .headers, .body, .trailers, .reset
"""
from __future__ import annotations

import socket
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Optional

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@dataclass
class H2Response:
    status: int = 0
    headers: list = field(default_factory=list)
    body: bytes = b""
    trailers: list = field(default_factory=list)
    interim: list = field(default_factory=list)
    ended: bool = False
    reset: Optional[int] = None      # RST_STREAM error code

    def header(self, name: str) -> Optional[str]:
        return next((v for k, v in self.headers if k == name), None)


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """A raw HTTP/2 frame."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


class H2Client:
    def __init__(self, port: int, tls: Optional[ssl.SSLContext] = None, server_name: Optional[str] = None,
                 window: Optional[int] = None, validate: bool = True, timeout: float = 5.0):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            tls.set_alpn_protocols(["h2"])
            raw = tls.wrap_socket(raw, server_hostname=server_name)
            assert raw.selected_alpn_protocol() == "h2", raw.selected_alpn_protocol()
        self.sock = raw
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=validate, normalize_outbound_headers=validate,
                                           validate_inbound_headers=True)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.auto_window = True          # hand every DATA byte back to the server at once
        self.flush()
        self.responses: dict[int, H2Response] = {}
        self.goaway: Optional[h2.events.ConnectionTerminated] = None
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, path: str = "/", method: str = "GET", authority: str = "example.test", headers=(),
                body: Optional[bytes] = None, end: bool = True, scheme: str = "http") -> int:
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":path", path), (":scheme", scheme), (":authority", authority)] + list(headers)
        self.conn.send_headers(sid, fields, end_stream=end and body is None)
        self.responses[sid] = H2Response()
        self.flush()
        if body is not None:
            self.send_body(sid, body, end=end)
        return sid

    def send_body(self, sid: int, body: bytes, end: bool = True, deadline: float = 30.0) -> None:
        """Sends `body` as flow control allows, reading the server's frames while it waits."""
        view = memoryview(body)
        stop = time.monotonic() + deadline
        while view:
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if room <= 0:
                assert time.monotonic() < stop, "the server never opened its window"
                self.pump(0.5)
                continue
            self.conn.send_data(sid, bytes(view[:room]))
            view = view[room:]
            self.flush()
        if end:
            self.conn.end_stream(sid)
            self.flush()

    def pump(self, timeout: float = 1.0) -> bool:
        """Reads once (up to `timeout`) and processes the frames; False on EOF or timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(data):
            self._handle(event)
        self.flush()
        return True

    def _handle(self, e) -> None:
        if isinstance(e, h2.events.InformationalResponseReceived):
            self.responses.setdefault(e.stream_id, H2Response()).interim.append(dict(e.headers))
        elif isinstance(e, h2.events.ResponseReceived):
            r = self.responses.setdefault(e.stream_id, H2Response())
            r.headers = list(e.headers)
            r.status = int(dict(e.headers)[":status"])
        elif isinstance(e, h2.events.DataReceived):
            self.responses.setdefault(e.stream_id, H2Response()).body += e.data
            if self.auto_window and e.flow_controlled_length:
                self.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.TrailersReceived):
            self.responses.setdefault(e.stream_id, H2Response()).trailers = list(e.headers)
        elif isinstance(e, h2.events.StreamEnded):
            self.responses.setdefault(e.stream_id, H2Response()).ended = True
        elif isinstance(e, h2.events.StreamReset):
            self.responses.setdefault(e.stream_id, H2Response()).reset = int(e.error_code)
        elif isinstance(e, h2.events.ConnectionTerminated):
            self.goaway = e

    def wait(self, sids, timeout: float = 10.0) -> None:
        stop = time.monotonic() + timeout
        while not all(self.responses[s].ended or self.responses[s].reset is not None for s in sids):
            assert time.monotonic() < stop, f"no complete response on streams {sids} within {timeout}s"
            if not self.pump(0.2) and self.closed:
                raise AssertionError(f"connection closed before the responses (goaway {self.goaway})")

    def response(self, sid: int, timeout: float = 10.0) -> H2Response:
        self.wait([sid], timeout)
        return self.responses[sid]

    def wait_goaway(self, timeout: float = 5.0) -> h2.events.ConnectionTerminated:
        stop = time.monotonic() + timeout
        while self.goaway is None:
            assert time.monotonic() < stop, "no GOAWAY"
            if not self.pump(0.2) and self.closed:
                break
        assert self.goaway is not None, "the connection closed without GOAWAY"
        return self.goaway

    def wait_closed(self, timeout: float = 5.0) -> None:
        stop = time.monotonic() + timeout
        while not self.closed:
            assert time.monotonic() < stop, "the connection stayed open"
            try:
                self.pump(0.2)
            except h2.exceptions.ProtocolError:
                pass
