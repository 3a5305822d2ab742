"""HTTP/1.1 message pieces shared by the test clients, the test servers and the tests: field
lookups on a parsed head, and the bytes of requests and of the X-Forwarded-* lines sluice adds."""
from __future__ import annotations

from typing import Optional


class HeaderFields:
    """Lookups over `self.headers`, a list of (name, value) in arrival order, spelling kept."""

    headers: list

    def values(self, name: str) -> list:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def value(self, name: str) -> Optional[str]:
        v = self.values(name)
        assert len(v) <= 1, f"header {name} appears {len(v)} times: {v}"
        return v[0] if v else None

    def tokens(self, name: str) -> list:
        """The comma-separated list elements of every `name` field, lower-cased."""
        return [t.strip().lower() for v in self.values(name) for t in v.split(",") if t.strip()]


def request_head(method: str = "GET", path: str = "/", host: str = "example.test", headers=(),
                 body: bytes = b"", close: bool = False) -> bytes:
    """A request head (Content-Length when there is a body, `Connection: close` if `close`)
    followed by `body`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def request_bytes(head: str = "", body: bytes = b"", start: str = "POST / HTTP/1.1") -> bytes:
    """`start`, Host: example.test, the header lines `head` (CRLF separated, sent as latin-1
    exactly as given), the blank line, then `body`."""
    text = start + "\r\nHost: example.test\r\n" + (head + "\r\n" if head else "") + "\r\n"
    return text.encode("latin-1") + body


def get_with(head: str) -> bytes:
    """GET / with Host: example.test and the header lines `head`."""
    return request_bytes(head, start="GET / HTTP/1.1")


def simple_request(path: str = "/", host: str = "example.test", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


def xf_lines(peer: str, port: int, host=None, proto: str = "http") -> str:
    """The four X-Forwarded-* lines sluice appends for an untrusted peer."""
    s = f"X-Forwarded-For: {peer}\r\nX-Forwarded-Proto: {proto}\r\n"
    if host is not None:
        s += f"X-Forwarded-Host: {host}\r\n"
    return s + f"X-Forwarded-Port: {port}\r\n"
