"""A test PKI made with the openssl CLI in a temporary directory: ``CA`` (a self-signed root,
or an intermediate), leaf certificates with subjectAltName DNS names / IP addresses, ECDSA P-256
or RSA 2048 keys.  ``Leaf.cert`` is the file a `certificate` directive takes: the leaf followed
by the intermediates (the chain sluice must serve).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

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
