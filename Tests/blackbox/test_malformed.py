"""SPEC §3 strict parsing: each malformed request gets sluice's own error answer, the
connection is closed, and *nothing* reaches the upstream.  Each case runs on a fresh proxy
and connection; afterwards a valid request proves the upstream was reachable all along."""
import pytest

from clients import RawClient, assert_refused_before_upstream
from messages import get_with
from messages import request_bytes as req

CHUNKED = "Transfer-Encoding: chunked"

# (id, raw bytes, expected status or tuple of acceptable ones)
CASES = [
    # framing: Content-Length / Transfer-Encoding
    ("cl_and_te", req("Content-Length: 5\r\n" + CHUNKED, b"0\r\n\r\n"), 400),
    ("te_and_cl", req(CHUNKED + "\r\nContent-Length: 5", b"0\r\n\r\n"), 400),
    ("differing_cl_lines", req("Content-Length: 5\r\nContent-Length: 6", b"hello!"), 400),
    ("differing_cl_list", req("Content-Length: 5, 6", b"hello!"), 400),
    ("cl_plus_sign", req("Content-Length: +5", b"hello"), 400),
    ("cl_negative", req("Content-Length: -5", b"hello"), 400),
    ("cl_hex", req("Content-Length: 0x5", b"hello"), 400),
    ("cl_trailing_garbage", req("Content-Length: 5x", b"hello"), 400),
    ("cl_inner_space", req("Content-Length: 1 2", b"hello"), 400),
    ("cl_empty", req("Content-Length: ", b""), 400),
    ("cl_over_63_bits", req("Content-Length: 9223372036854775808", b"x"), 400),
    ("cl_huge", req("Content-Length: 99999999999999999999999", b"x"), 400),
    ("te_gzip", req("Transfer-Encoding: gzip", b"xx"), 501),
    ("te_gzip_then_chunked", req("Transfer-Encoding: gzip, chunked", b"0\r\n\r\n"), 501),
    # chunked present but not final: RFC 9112 §6.3 says 400; an unknown coding is also 501
    ("te_chunked_not_final", req("Transfer-Encoding: chunked, gzip", b"0\r\n\r\n"), (400, 501)),
    ("te_chunked_twice", req(CHUNKED + "\r\n" + CHUNKED, b"0\r\n\r\n"), 400),
    ("te_in_http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
    # chunk framing (the bad part is sent together with the head)
    ("chunk_size_not_hex", req(CHUNKED, b"zz\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_0x", req(CHUNKED, b"0x5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_negative", req(CHUNKED, b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_empty", req(CHUNKED, b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_overflow", req(CHUNKED, b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_data_without_crlf", req(CHUNKED, b"5\r\nhelloXX0\r\n\r\n"), 400),
    ("chunk_size_bare_lf", req(CHUNKED, b"5\nhello\r\n0\r\n\r\n"), 400),
    # header syntax
    ("space_before_colon", get_with("X-Foo : bar"), 400),
    ("tab_before_colon", get_with("X-Foo\t: bar"), 400),
    ("obs_fold", get_with("X-Foo: a\r\n  folded"), 400),
    ("obs_fold_first_line", b"GET / HTTP/1.1\r\n Host: example.test\r\n\r\n", 400),
    ("bare_cr_in_value", get_with("X-Foo: a\rb"), 400),
    ("bare_cr_line_end", b"GET / HTTP/1.1\r\nHost: example.test\rX-Foo: b\r\n\r\n", 400),
    ("bare_lf_line_ends", b"GET / HTTP/1.1\nHost: example.test\n\n", 400),
    ("nul_in_value", get_with("X-Foo: a\x00b"), 400),
    ("nul_in_name", get_with("X-F\x00oo: b"), 400),
    ("nul_in_target", b"GET /a\x00b HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("ctl_in_name", get_with("X-F\x01oo: bar"), 400),
    ("ctl_in_value", get_with("X-Foo: a\x1bb"), 400),
    ("del_in_value", get_with("X-Foo: a\x7fb"), 400),
    ("ctl_in_target", b"GET /a\x01b HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("separator_in_name", get_with("X(Foo): bar"), 400),
    ("empty_name", get_with(": bar"), 400),
    ("no_colon", get_with("X-Foo bar"), 400),
    # Host
    ("missing_host", b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    ("duplicate_host", b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", 400),
    ("duplicate_host_same", b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n", 400),
    ("host_with_space", b"GET / HTTP/1.1\r\nHost: exa mple.test\r\n\r\n", 400),
    ("host_with_slash", b"GET / HTTP/1.1\r\nHost: a.test/evil\r\n\r\n", 400),
    ("host_bad_port", b"GET / HTTP/1.1\r\nHost: a.test:8x\r\n\r\n", 400),
    # request line and versions
    ("http09", b"GET /\r\n\r\n", (400, 505)),
    ("http09_version", b"GET / HTTP/0.9\r\n\r\n", 505),
    ("http2", b"GET / HTTP/2.0\r\nHost: example.test\r\n\r\n", 505),
    ("http3", b"GET / HTTP/3.0\r\nHost: example.test\r\n\r\n", 505),
    ("version_garbage", b"GET / HTTP/1.x\r\nHost: example.test\r\n\r\n", (400, 505)),
    ("lowercase_version", b"GET / http/1.1\r\nHost: example.test\r\n\r\n", (400, 505)),
    ("double_space", b"GET  / HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("trailing_space", b"GET / HTTP/1.1 \r\nHost: example.test\r\n\r\n", 400),
    ("space_in_target", b"GET /a b HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    # "GET HTTP/1.1" also reads as an HTTP/0.9 line with target "HTTP/1.1"
    ("missing_target", b"GET HTTP/1.1\r\nHost: example.test\r\n\r\n", (400, 505)),
    ("bad_method_char", b"G@T / HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("connect", b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", 400),
    ("authority_form_get", b"GET example.test:80 HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("asterisk_get", b"GET * HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,raw,status", CASES, ids=[c[0] for c in CASES])
def test_malformed_request_rejected(proxy, name, raw, status):
    assert_refused_before_upstream(proxy(), raw, status)


VALID = [
    ("options_asterisk", b"OPTIONS * HTTP/1.1\r\nHost: example.test\r\n\r\n", "OPTIONS", "*", b""),
    ("absolute_form", b"GET http://example.test/abs?q HTTP/1.1\r\nHost: example.test\r\n\r\n",
     "GET", "http://example.test/abs?q", b""),
    ("chunk_extension_and_trailer",
     req(CHUNKED, b"5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"), "POST", "/", b"hello"),
    ("uppercase_hex_chunk", req(CHUNKED, b"A\r\n0123456789\r\n0\r\n\r\n"), "POST", "/", b"0123456789"),
    ("same_cl_twice", req("Content-Length: 5\r\nContent-Length: 5", b"hello"), "POST", "/", b"hello"),
    ("tab_in_value", get_with("X-Foo: a\tb"), "GET", "/", b""),
    ("obs_text_in_value", get_with("X-Foo: caf\xe9"), "GET", "/", b""),
    ("empty_value", get_with("X-Empty:"), "GET", "/", b""),
    ("http10_without_host", b"GET / HTTP/1.0\r\n\r\n", "GET", "/", b""),
    ("extension_method", b"PURGE /x HTTP/1.1\r\nHost: example.test\r\n\r\n", "PURGE", "/x", b""),
]


@pytest.mark.parametrize("name,raw,method,target,body", VALID, ids=[v[0] for v in VALID])
def test_strict_but_valid_requests_pass(proxy, name, raw, method, target, body):
    """Controls for the table above: the edge cases RFC 9112 allows are forwarded."""
    s = proxy()
    with RawClient(s.port) as c:
        c.send(raw)
        assert c.read_response().status == 200
    [r] = s.upstreams[0].wait_requests(1)
    assert (r.method, r.target, r.body) == (method, target, body)
