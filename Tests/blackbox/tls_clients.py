"""TLS clients for the black-box tests: ``client_context`` (Python ssl, trusting a test CA),
``TLSClient`` (the strict ``RawClient`` over TLS), ``https_get``, ``s_client`` (openssl
s_client, always with a timeout), ``client_hello`` (the bytes of a real ClientHello, for
stalling a handshake half way).  Everything stays on 127.0.0.0/8.
"""
from __future__ import annotations

import re
import ssl
import subprocess
from dataclasses import dataclass
from typing import Optional

from clients import RawClient
from messages import request_head
from pki import CA, OPENSSL


def client_context(ca: Optional[CA] = None, *, verify: bool = True, check_hostname: bool = True,
                   alpn=("http/1.1",), minimum=None, maximum=None,
                   ciphers: Optional[str] = None) -> ssl.SSLContext:
    """A Python client context trusting `ca` (and only it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile=str(ca.cert))
        ctx.check_hostname = check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class TLSClient(RawClient):
    """RawClient whose socket is wrapped in TLS right after the TCP connect (the handshake
    happens in the constructor)."""

    def __init__(self, port: int, ctx: ssl.SSLContext, server_name: Optional[str] = None,
                 source: str = "127.0.0.1", timeout: float = 5.0, session=None):
        super().__init__(port, source=source, timeout=timeout)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_hostname=server_name, session=session)
        except BaseException:
            self.sock.close()
            raise

    # facts about the handshake
    @property
    def version(self) -> str:
        return self.sock.version()

    @property
    def cipher(self) -> str:
        return self.sock.cipher()[0]

    @property
    def alpn(self) -> Optional[str]:
        return self.sock.selected_alpn_protocol()

    @property
    def session(self):
        return self.sock.session

    @property
    def session_reused(self) -> bool:
        return self.sock.session_reused

    @property
    def peer_cert(self) -> dict:
        return self.sock.getpeercert()

    @property
    def peer_cn(self) -> str:
        return subject_cn(self.peer_cert)

    def info(self) -> TLSInfo:
        return TLSInfo(self.version, self.cipher, self.alpn, self.peer_cert, self.session,
                       self.session_reused)

    def is_open(self, wait: float = 0.2) -> bool:   # MSG_PEEK is not allowed on SSL sockets
        raise NotImplementedError

    def request(self, path: str = "/", host: str = "example.test", headers=(),
                method: str = "GET", body: bytes = b"", close: bool = False):
        self.send(request_head(method, path, host, headers, body, close))
        return self.read_response(method)


def subject_cn(cert: dict) -> str:
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return ""


@dataclass
class TLSInfo:
    """What a client learnt from a handshake (kept after the socket is closed)."""
    version: str
    cipher: str
    alpn: Optional[str]
    peer_cert: dict
    session: object
    session_reused: bool

    @property
    def peer_cn(self) -> str:
        return subject_cn(self.peer_cert)

    @property
    def serial(self) -> int:
        return int(self.peer_cert["serialNumber"], 16)


def https_get(port: int, ctx: ssl.SSLContext, server_name: Optional[str] = None,
              path: str = "/", host: Optional[str] = None, headers=(),
              source: str = "127.0.0.1", session=None):
    """One request on a fresh TLS connection with `Connection: close`: (Response, TLSInfo).
    The session in TLSInfo is read after the response (TLS 1.3 tickets come after the
    handshake)."""
    with TLSClient(port, ctx, server_name, source=source, session=session) as c:
        resp = c.request(path, host=host or server_name or "example.test", headers=headers,
                         close=True)
        return resp, c.info()


def s_client(port: int, *args, input: bytes = b"", timeout: float = 10,
             host: str = "127.0.0.1") -> subprocess.CompletedProcess:
    """openssl s_client -connect HOST:PORT ARGS..., stdin = `input`; text output (stdout and
    stderr together in .out).  Bounded by `timeout`."""
    r = subprocess.run([OPENSSL, "s_client", "-connect", f"{host}:{port}", *map(str, args)],
                       input=input, capture_output=True, timeout=timeout)
    r.out = (r.stdout + r.stderr).decode(errors="replace")
    return r


def s_field(out: str, name: str) -> Optional[str]:
    """A `name: value` or `name value` line of s_client's summary (e.g. "Protocol",
    "Cipher", "ALPN protocol")."""
    m = re.search(rf"^\s*{re.escape(name)}\s*:\s*(.*?)\s*$", out, re.M)
    return m.group(1) if m else None


def client_hello(server_name: str = "example.test", alpn=("http/1.1",)) -> bytes:
    """The bytes of a real TLS ClientHello (Python's, TLS 1.2-1.3, with SNI and ALPN)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()
