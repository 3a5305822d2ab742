"""TLS helpers for the black-box tests.

* ``CA``: a test certificate authority made with the openssl CLI in a temporary directory
  (root, intermediates, leaf certificates with subjectAltName DNS names / IP addresses, ECDSA
  P-256 or RSA 2048 keys).  ``Leaf.cert`` is the file a `certificate` directive takes: the leaf
  followed by the intermediates (the chain sluice must serve).
* Clients: ``client_context`` (Python ssl), ``TLSClient`` (the strict ``RawClient`` over TLS),
  ``https_get``, ``s_client`` (openssl s_client, always with a timeout), ``client_hello`` (the
  bytes of a real ClientHello, for stalling a handshake half way).
* ``TLSUpstream``: the ``RecordingUpstream`` behind TLS, recording the SNI, ALPN offer and
  protocol version of every handshake (for `server ... tls`).

Everything stays on 127.0.0.0/8.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rawhttp import RawClient
from upstreams import RecordingUpstream

OPENSSL = shutil.which("openssl") or "openssl"


def openssl(*args, input: Optional[bytes] = None, timeout: float = 30,
            check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed ({r.returncode}): "
                           f"{r.stderr.decode(errors='replace')[-2000:]}")
    return r


def make_key(path: Path, key_type: str = "ec") -> Path:
    """A new private key (PEM, unencrypted): "ec" = P-256, "rsa" = 2048 bits."""
    if key_type == "ec":
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    elif key_type == "rsa":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        raise ValueError(key_type)
    return Path(path)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class Leaf:
    cert: Path               # leaf certificate followed by the intermediates
    key: Path
    serial: int
    cn: str
    names: list = field(default_factory=list)
    leaf_only: Optional[Path] = None

    @property
    def directive(self) -> str:
        return f"certificate {self.cert} {self.key};"


class CA:
    """A certificate authority in `directory`: a self-signed root, or an intermediate signed by
    `parent`.  `chain` lists the PEM texts of the intermediates between a leaf and the root."""

    def __init__(self, directory: Path, name: str = "sluice test root CA", *,
                 key_type: str = "ec", parent: Optional["CA"] = None, days: int = 30):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.key = make_key(self.dir / f"{slug}.key", key_type)
        self.cert = self.dir / f"{slug}.pem"
        ext = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign",
               "subjectKeyIdentifier=hash"]
        if parent is None:
            openssl("req", "-x509", "-new", "-key", self.key, "-subj", f"/CN={name}",
                    "-days", days, "-set_serial", secrets.randbits(63),
                    *sum((["-addext", e] for e in ext), []), "-out", self.cert)
            self.chain: list[str] = []
        else:
            csr = self.dir / f"{slug}.csr"
            openssl("req", "-new", "-key", self.key, "-subj", f"/CN={name}", "-out", csr)
            extfile = self.dir / f"{slug}.ext"
            extfile.write_text("\n".join(ext + ["authorityKeyIdentifier=keyid"]) + "\n")
            openssl("x509", "-req", "-in", csr, "-CA", parent.cert, "-CAkey", parent.key,
                    "-set_serial", secrets.randbits(63), "-days", days, "-extfile", extfile,
                    "-out", self.cert)
            self.chain = [self.cert.read_text()] + parent.chain
        self.parent = parent

    def intermediate(self, name: str = "sluice test intermediate CA", **kw) -> "CA":
        return CA(self.dir, name, parent=self, **kw)

    def issue(self, names=(), *, cn: Optional[str] = None, ips=(), key_type: str = "ec",
              days: int = 90, out: Optional[str] = None, key: Optional[Path] = None,
              directory: Optional[Path] = None) -> Leaf:
        """A server certificate for DNS `names` (subjectAltName) and IP addresses `ips`.
        Files go to `directory` (default: the CA's).  `out`: file name stem (re-issuing with the
        same stem replaces the certificate and key files atomically, for reload tests); `key`:
        reuse an existing key file instead of making a new one."""
        names = list(names)
        cn = cn or (names[0] if names else (ips[0] if ips else "sluice test server"))
        stem = out or re.sub(r"[^A-Za-z0-9.-]+", "_", cn) + f"-{secrets.token_hex(3)}"
        where = Path(directory) if directory is not None else self.dir
        where.mkdir(parents=True, exist_ok=True)
        key_path = where / f"{stem}.key"
        if key is None:
            tmp_key = make_key(where / f"{stem}.key.new", key_type)
        else:
            tmp_key = Path(key)
        csr = where / f"{stem}.csr"
        openssl("req", "-new", "-key", tmp_key, "-subj", f"/CN={cn}", "-out", csr)
        usage = "digitalSignature" if key_type == "ec" else "digitalSignature,keyEncipherment"
        ext = ["basicConstraints=critical,CA:FALSE", f"keyUsage=critical,{usage}",
               "extendedKeyUsage=serverAuth", "subjectKeyIdentifier=hash",
               "authorityKeyIdentifier=keyid"]
        san = [f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips]
        if san:
            ext.append("subjectAltName=" + ",".join(san))
        extfile = where / f"{stem}.ext"
        extfile.write_text("\n".join(ext) + "\n")
        serial = secrets.randbits(63)
        leaf_only = where / f"{stem}.leaf.pem"
        openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                "-set_serial", serial, "-days", days, "-extfile", extfile, "-out", leaf_only)
        cert = where / f"{stem}.pem"
        _replace(cert, (leaf_only.read_text() + "".join(self.chain)).encode())
        if key is None:
            os.replace(tmp_key, key_path)
        else:
            key_path = Path(key)
        return Leaf(cert, key_path, serial, cn, names, leaf_only)


# ----------------------------------------------------------------------------- clients

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
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
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


# ---------------------------------------------------------------------------- upstream

class TLSUpstream(RecordingUpstream):
    """RecordingUpstream behind TLS with `leaf`'s certificate.  Records per handshake the SNI
    the client sent (None without one), the ALPN protocols offered and the version, and
    handshake failures in `tls_errors`."""

    def __init__(self, name: str, leaf: Leaf, handler=None, **kw):
        self.tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_ctx.load_cert_chain(str(leaf.cert), str(leaf.key))
        self.tls_ctx.set_alpn_protocols(["http/1.1"])
        self.tls_ctx.sni_callback = self._on_sni
        self.sni_seen: list = []
        self.handshakes: list = []      # (sni, version, alpn) of completed handshakes
        self.tls_errors: list = []
        self._sni_lock = threading.Lock()
        super().__init__(name, handler, **kw)

    def _on_sni(self, sslobj, server_name, ctx):
        if server_name is None:      # called without SNI too
            return None
        with self._sni_lock:
            self.sni_seen.append(server_name)
            sslobj._sluice_sni = server_name   # noqa: SLF001 - our own attribute
        return None

    def _serve_http(self, sock: socket.socket, cid: int) -> None:
        sock.settimeout(5)
        try:
            tls = self.tls_ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self._sni_lock:
                self.tls_errors.append(f"conn {cid}: {e}")
            try:
                sock.close()
            except OSError:
                pass
            return
        tls.settimeout(None)
        with self._sni_lock:
            self.handshakes.append((getattr(tls, "_sluice_sni", None), tls.version(),
                                    tls.selected_alpn_protocol()))
        with self.lock:
            self._socks.append(tls)
        super()._serve_http(tls, cid)
