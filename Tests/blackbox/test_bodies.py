"""Large bodies both ways (Content-Length and chunked) arrive intact and are streamed."""
import hashlib
import os
import time

import pytest
import requests

from clients import RawClient
from servers import Reply

SIZE = 20 * 1024 * 1024
_BIG = []


def big() -> bytes:
    if not _BIG:
        _BIG.append(os.urandom(SIZE))
    return _BIG[0]


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def digest_reply(r):
    return Reply(body=sha(r.body).encode())


def session():
    s = requests.Session()
    s.trust_env = False
    return s


@pytest.mark.deadline(60)
def test_upload_20mb_content_length(proxy, upstream):
    up = upstream("A", digest_reply)
    s = proxy(up)
    data = big()
    with session() as sess:
        r = sess.post(f"http://127.0.0.1:{s.port}/up", data=data, timeout=30)
    assert r.status_code == 200
    assert r.text == sha(data)
    [req] = up.snapshot()
    assert req.value("Content-Length") == str(SIZE)
    assert req.value("Transfer-Encoding") is None
    assert sha(req.body) == sha(data)


@pytest.mark.deadline(60)
def test_upload_20mb_chunked(proxy, upstream):
    up = upstream("A", digest_reply)
    s = proxy(up)
    data = big()

    def pieces():
        for i in range(0, SIZE, 100_000):    # odd-sized chunks
            yield data[i:i + 100_000]

    with session() as sess:
        r = sess.post(f"http://127.0.0.1:{s.port}/up", data=pieces(), timeout=30)
    assert r.status_code == 200
    assert r.text == sha(data)
    [req] = up.snapshot()
    assert req.value("Transfer-Encoding") == "chunked"
    assert req.value("Content-Length") is None
    assert sha(req.body) == sha(data)


@pytest.mark.deadline(60)
def test_download_20mb_content_length(proxy, upstream):
    data = big()
    s = proxy(upstream("A", lambda r: Reply(body=data)))
    with session() as sess:
        r = sess.get(f"http://127.0.0.1:{s.port}/down", timeout=30, stream=True)
        h = hashlib.sha256()
        n = 0
        for piece in r.iter_content(1 << 20):
            h.update(piece)
            n += len(piece)
    assert r.status_code == 200
    assert r.headers.get("Content-Length") == str(SIZE)
    assert n == SIZE and h.hexdigest() == sha(data)


@pytest.mark.deadline(60)
def test_download_20mb_chunked(proxy, upstream):
    data = big()
    s = proxy(upstream("A", lambda r: Reply(body=data, chunked=True, chunk_size=77_777)))
    with RawClient(s.port, timeout=20) as c:
        c.send(b"GET /down HTTP/1.1\r\nHost: h\r\n\r\n")
        resp = c.read_response()
        assert resp.status == 200
        assert sha(resp.body) == sha(data)
        # the connection is still usable: the chunked framing ended exactly
        c.send(b"GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        assert len(c.read_response().body) == SIZE


def test_close_delimited_upstream_response(proxy, upstream):
    data = os.urandom(1 << 20)
    s = proxy(upstream("A", lambda r: Reply(body=data, no_length=True)))
    with RawClient(s.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        resp = c.read_response()
    assert resp.status == 200
    assert sha(resp.body) == sha(data)


def test_response_is_streamed_not_buffered(proxy, upstream):
    data = os.urandom(4 << 20)
    s = proxy(upstream("A", lambda r: Reply(body=data, stall_after=65536, stall=1.5)))
    with RawClient(s.port) as c:
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        c.read_head()
        head_part = c._exact(65536)
        first = time.monotonic() - t0
        rest = c._exact(len(data) - 65536)
        total = time.monotonic() - t0
    assert first < 1.0, f"first 64 KiB took {first:.2f}s: response buffered by the proxy"
    assert total >= 1.4
    assert sha(head_part + rest) == sha(data)


def test_request_body_is_streamed_not_buffered(proxy, upstream):
    up = upstream("A", digest_reply)
    s = proxy(up)
    first, second = os.urandom(65536), os.urandom(65536)
    with RawClient(s.port) as c:
        c.send(b"PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 131072\r\n\r\n" + first)
        deadline = time.monotonic() + 1.0
        while up.total_bytes() < 65536 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert up.total_bytes() >= 65536, "request body held back until complete"
        assert up.snapshot() == []
        c.send(second)
        resp = c.read_response()
    assert resp.body == sha(first + second).encode()
