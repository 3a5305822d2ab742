"""Conformance table: malformed or ambiguous requests and upstream responses drawn from
RFC 9112 / RFC 9110 and from published request-smuggling advisories (CL.TE, TE.CL, TE.TE
obfuscations, chunk-size overflows, bare-LF chunk lines, chunk-extension and trailer tricks,
CVE-2023-45539's '#' in the target, absolute-form Host confusion).

This table adds to test_malformed.py (61 cases, not repeated here) and test_errors.py
(10 broken responses, not repeated here).

* Requests: sluice answers the expected status itself, closes the connection, and *nothing*
  reaches the upstream; a control request afterwards proves the upstream was reachable.
* Ambiguous requests that RFC 9112 allows are forwarded only with unambiguous framing: the
  upstream sees one Transfer-Encoding `chunked` or one plain decimal Content-Length, the body
  it decodes is the body the client meant, and the next request on the same client connection
  is still in sync.
* Responses: the client gets 502 (or, when the head was already forwarded, a connection that
  closes before the message is complete, and never the broken bytes), and the upstream
  connection is not reused.
"""
import time

import pytest

from clients import ClosedEarly, RawClient, assert_refused_before_upstream, get, proxy_error
from conftest import http_config
from messages import get_with, simple_request
from messages import request_bytes as post
from ports import free_port
from servers import Reply

CHUNKED_HEAD = "Transfer-Encoding: chunked"
HELLO = b"5\r\nhello\r\n0\r\n\r\n"
CHUNKED_RESPONSE = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked(body: bytes) -> bytes:
    return post(CHUNKED_HEAD, body)


# --------------------------------------------------------------------------- requests
# (id, raw bytes, expected status or tuple of acceptable ones)
BAD_REQUESTS = [
    # --- CL.TE / TE.CL (PortSwigger's classic payloads; RFC 9112 §6.1 says reject or close)
    ("clte_classic", post("Content-Length: 13\r\n" + CHUNKED_HEAD, b"0\r\n\r\nSMUGGLED"), 400),
    ("tecl_classic", post("Content-Length: 3\r\n" + CHUNKED_HEAD, b"8\r\nSMUGGLED\r\n0\r\n\r\n"), 400),
    ("cl_with_unknown_te", post("Content-Length: 4\r\nTransfer-Encoding: xchunked", b"5c\r\n"), (400, 501)),
    ("cl_te_on_get", post("Content-Length: 0\r\n" + CHUNKED_HEAD, b"0\r\n\r\n", start="GET / HTTP/1.1"), 400),
    ("cl_te_with_expect", post("Expect: 100-continue\r\nContent-Length: 5\r\n" + CHUNKED_HEAD), 400),
    # --- TE.TE obfuscations (one hop sees chunked, the other does not)
    ("te_xchunked", post("Transfer-Encoding: xchunked", HELLO), (400, 501)),
    ("te_identity", post("Transfer-Encoding: identity\r\nContent-Length: 5", b"hello"), (400, 501)),
    ("te_empty_value", post("Transfer-Encoding: \r\nContent-Length: 5", b"hello"), 400),
    # RFC 9110 §5.6.1 lets a recipient ignore empty list elements, but sluice forwards the field
    # verbatim and a stricter upstream could read ", chunked" as an unknown coding (TE.TE
    # desync): only the plain spelling passes.
    ("te_leading_empty_element", post("Transfer-Encoding: , chunked", HELLO), 400),
    ("te_trailing_empty_element", post("Transfer-Encoding: chunked,", HELLO), 400),
    ("te_space_before_name", post(" Transfer-Encoding: chunked", HELLO), 400),
    ("te_space_before_colon", post("Transfer-Encoding : chunked", HELLO), 400),
    ("te_vertical_tab_after", post("Transfer-Encoding: chunked\x0b", HELLO), 400),
    ("te_form_feed_before", post("Transfer-Encoding:\x0cchunked", HELLO), 400),
    ("te_nul_after", post("Transfer-Encoding: chunked\x00", HELLO), 400),
    ("te_high_bit", post("Transfer-Encoding: chunk\xe9d", HELLO), (400, 501)),
    ("te_quoted", post('Transfer-Encoding: "chunked"', HELLO), (400, 501)),
    ("te_with_parameter", post("Transfer-Encoding: chunked;q=1", HELLO), (400, 501)),
    ("te_duplicate_tab", post(CHUNKED_HEAD + "\r\nTransfer-Encoding:\tx", HELLO), (400, 501)),
    ("te_duplicate_cow", post(CHUNKED_HEAD + "\r\nTransfer-encoding: cow", HELLO), (400, 501)),
    ("te_chunked_chunked_list", post("Transfer-Encoding: chunked, chunked", HELLO), 400),
    ("te_high_bit_name_with_cl", post("Transfer-Encoding\xff: chunked\r\nContent-Length: 5", b"hello"), 400),
    # --- Content-Length spellings (RFC 9110 §8.6: 1*DIGIT)
    ("cl_vertical_tab", post("Content-Length: 5\x0b", b"hello"), 400),
    ("cl_underscore", post("Content-Length: 1_0", b"hello"), 400),
    ("cl_fullwidth_digit", post("Content-Length: \uff15".encode("utf-8").decode("latin-1"), b"hello"), 400),
    ("cl_decimal_point", post("Content-Length: 5.0", b"hello"), 400),
    ("cl_exponent", post("Content-Length: 5e0", b"hello"), 400),
    ("cl_space_before_colon", post("Content-Length : 5", b"hello"), 400),
    # --- request line (RFC 9112 §3)
    ("two_spaces_before_version", b"GET /  HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("tab_separators", b"GET\t/\tHTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("leading_space", b" GET / HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("target_without_slash", b"GET a HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("asterisk_post", b"POST * HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\n\r\n", 400),
    ("bare_cr_after_request_line", b"GET / HTTP/1.1\rHost: example.test\r\n\r\n", 400),
    ("version_without_minor", b"GET / HTTP/1\r\nHost: example.test\r\n\r\n", (400, 505)),
    ("version_leading_zero", b"GET / HTTP/01.1\r\nHost: example.test\r\n\r\n", (400, 505)),
    ("high_bit_method", b"G\xc9T / HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("high_bit_target", b"GET /caf\xe9 HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    ("absolute_form_without_host", b"GET http://example.test/ HTTP/1.1\r\n\r\n", 400),
    ("absolute_form_ftp", b"GET ftp://example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n", 400),
    # --- header fields (RFC 9110 §5.1 token names, RFC 9112 §5)
    ("high_bit_name", get_with("X-F\xe9o: bar"), 400),
    ("utf8_name", get_with("X-\u00e9: bar".encode("utf-8").decode("latin-1")), 400),
    ("bare_cr_before_crlf", get_with("X-A: b\r"), 400),
    ("host_high_bit", b"GET / HTTP/1.1\r\nHost: ex\xe9.test\r\n\r\n", 400),
    ("host_list", b"GET / HTTP/1.1\r\nHost: a.test, b.test\r\n\r\n", 400),
    ("host_userinfo", b"GET / HTTP/1.1\r\nHost: user@a.test\r\n\r\n", 400),
    ("host_twice_http10", b"GET / HTTP/1.0\r\nHost: a.test\r\nHost: b.test\r\n\r\n", 400),
    # --- chunk-size lines (RFC 9112 §7.1; CVE-2023-44487-era parser advisories, llhttp, Go)
    ("chunk_size_leading_space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_trailing_space", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_wraps_64_bits", chunked(b"10000000000000005\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_2_pow_63", chunked(b"8000000000000000\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_all_f", chunked(b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_ext_empty_name", chunked(b"5;\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_ext_bare_lf", chunked(b"5;a=b\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_ext_quote_spans_crlf", chunked(b'5;a="x\r\n"\r\nhello\r\n0\r\n\r\n'), 400),
    ("chunk_ext_unterminated_quote", chunked(b'5;a="x\r\nhello\r\n0\r\n\r\n'), 400),
    ("chunk_ext_very_long", chunked(b"5;" + b"a" * 20000 + b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_data_bare_lf", chunked(b"5\r\nhello\n0\r\n\r\n"), 400),
    # the zero-length (last) chunk: where TE.0 / "0-length chunk" desyncs live
    ("last_chunk_bare_lf", chunked(b"5\r\nhello\r\n0\n\r\n"), 400),
    ("last_chunk_ext_bare_lf", chunked(b"5\r\nhello\r\n0;a\n\r\n"), 400),
    ("last_chunk_ext_bare_cr", chunked(b"5\r\nhello\r\n0;a\rb\r\n\r\n"), 400),
    ("last_chunk_ext_nul", chunked(b"5\r\nhello\r\n0;a\x00\r\n\r\n"), 400),
    ("final_line_bare_lf", chunked(b"5\r\nhello\r\n0\r\n\n"), 400),
    # --- trailer section (RFC 9112 §7.1.2: field lines with the head's rules)
    ("trailer_space_in_name", chunked(b"5\r\nhello\r\n0\r\nX Bad: 1\r\n\r\n"), 400),
    ("trailer_no_colon", chunked(b"5\r\nhello\r\n0\r\nXT\r\n\r\n"), 400),
    ("trailer_nul", chunked(b"5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n"), 400),
    ("trailer_obs_fold", chunked(b"5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n"), 400),
    ("trailer_bare_lf", chunked(b"5\r\nhello\r\n0\r\nX-T: a\n\r\n"), 400),
    ("trailer_section_too_large", chunked(b"5\r\nhello\r\n0\r\nX-T: " + b"a" * 20000 + b"\r\n\r\n"),
     (400, 431)),
]


@pytest.mark.parametrize("name,raw,status", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_request_rejected_and_nothing_forwarded(proxy, name, raw, status):
    assert_refused_before_upstream(proxy(), raw, status)


def test_table_size():
    """The issue asks for at least 40 requests and 10 upstream responses beyond the old tables."""
    assert len(BAD_REQUESTS) >= 40 and len({c[0] for c in BAD_REQUESTS}) == len(BAD_REQUESTS)
    assert len(BAD_RESPONSES) + len(BROKEN_BODIES) >= 10


def test_smuggled_request_behind_a_valid_one(proxy):
    """A valid request pipelined with a CL.TE one in the same packet: the first is forwarded,
    the second is refused, and not one byte of it reaches the upstream."""
    s = proxy()
    up = s.upstreams[0]
    first = simple_request("/first")
    second = post("Content-Length: 6\r\n" + CHUNKED_HEAD, b"0\r\n\r\nX")
    with RawClient(s.port) as c:
        c.send(first + second)
        assert c.read_response().status == 200
        resp = c.read_response()
        assert resp.status == 400
        c.wait_closed(3)
    time.sleep(0.1)
    [r] = up.snapshot()
    assert r.target == "/first"
    assert up.total_bytes() == len(r.raw), "bytes of the refused request reached the upstream"


# ---------------------------------------------------------- ambiguous but valid requests
# RFC 9112/9110 allow these; forwarding is fine as long as the upstream cannot read the
# framing differently from sluice.  (id, raw, decoded body the upstream must get)
AMBIGUOUS_VALID = [
    ("cl_leading_zeros", post("Content-Length: 005", b"hello"), b"hello"),
    ("cl_same_value_list", post("Content-Length: 5, 5", b"hello"), b"hello"),
    ("cl_trailing_tab", post("Content-Length: 5\t", b"hello"), b"hello"),
    ("te_uppercase", post("Transfer-Encoding: CHUNKED", HELLO), b"hello"),
    ("te_tab_before_value", post("Transfer-Encoding:\tchunked", HELLO), b"hello"),
    ("chunk_size_00", chunked(b"5\r\nhello\r\n00\r\n\r\n"), b"hello"),
    ("chunk_ext_bws", chunked(b"5 ;a=b\r\nhello\r\n0\r\n\r\n"), b"hello"),
    ("chunk_ext_quoted_semicolon", chunked(b'5;a="b;c"\r\nhello\r\n0\r\n\r\n'), b"hello"),
    ("last_chunk_with_ext", chunked(b"5\r\nhello\r\n0;done=1\r\n\r\n"), b"hello"),
    ("get_with_body", post("Content-Length: 5", b"hello", start="GET / HTTP/1.1"), b"hello"),
    ("underscore_te_name_with_cl", post("Transfer_Encoding: chunked\r\nContent-Length: 5", b"hello"),
     b"hello"),
]


def _framing_of(head: bytes):
    """(Transfer-Encoding values, Content-Length values) of a forwarded head."""
    te, cl = [], []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"transfer-encoding":
            te.append(value.strip(b" \t"))
        elif name.lower() == b"content-length":
            cl.append(value.strip(b" \t"))
    return te, cl


@pytest.mark.parametrize("name,raw,body", AMBIGUOUS_VALID,
                         ids=[c[0] if isinstance(c, tuple) else c.id for c in AMBIGUOUS_VALID])
def test_ambiguous_request_forwarded_unambiguously(proxy, name, raw, body):
    s = proxy()
    up = s.upstreams[0]
    with RawClient(s.port) as c:
        c.send(raw)
        assert c.read_response().status == 200
        c.send(simple_request("/next"))           # still in sync on the same client connection
        assert c.read_response().status == 200
    reqs = up.wait_requests(2)
    assert [r.target for r in reqs] == ["/", "/next"], [r.head for r in reqs]
    first = reqs[0]
    assert first.body == body
    te, cl = _framing_of(first.head)
    if te:
        assert te == [b"chunked"] or [v.lower() for v in te] == [b"chunked"], \
            f"forwarded Transfer-Encoding {te!r} is not one plain 'chunked'"
        assert not cl, f"forwarded both Transfer-Encoding and Content-Length: {first.head!r}"
    else:
        assert len(cl) == 1 and cl[0].isdigit() and int(cl[0]) == len(body), \
            f"forwarded Content-Length {cl!r} for a {len(body)}-byte body"
    assert not up.errors, up.errors


ABSOLUTE_FORM = [
    ("other_host", b"GET http://admin.test/secret HTTP/1.1\r\nHost: example.test\r\n\r\n", "admin.test"),
    ("other_port", b"GET http://example.test:81/ HTTP/1.1\r\nHost: example.test\r\n\r\n", "example.test:81"),
    ("userinfo", b"GET http://example.test@admin.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n", None),
]


@pytest.mark.parametrize("name,raw,authority", ABSOLUTE_FORM, ids=[c[0] for c in ABSOLUTE_FORM])
def test_absolute_form_with_mismatched_host(proxy, name, raw, authority):
    """Either 400 with nothing forwarded, or the upstream gets one Host equal to the target's
    authority, so that sluice's routing (by Host) and the upstream's reading (by target) agree.
    A target with userinfo (deprecated, RFC 9110 §4.2.4) must be refused."""
    s = proxy()
    up = s.upstreams[0]
    with RawClient(s.port) as c:
        c.send(raw)
        resp = c.read_response()
    time.sleep(0.1)
    if resp.status == 400:
        assert up.total_bytes() == 0
        return
    assert authority is not None, f"userinfo target answered {resp.status}"
    [r] = up.snapshot()
    assert r.values("Host") == [authority], r.head


def test_absolute_form_routes_by_target_authority(sluice, upstream):
    """The same confusion in routing terms: `route host=admin.test` must not be bypassed by
    naming admin.test in the target and something else in Host (or vice versa)."""
    public, admin = upstream("public"), upstream("admin")
    port = free_port()
    cfg = http_config(port, [public.addr]).replace(
        "frontend web {", "backend adminb {\n    server %s;\n}\nfrontend web {\n"
        "    route host=admin.test backend=adminb;" % admin.addr)
    s = sluice(cfg)
    with RawClient(s.port) as c:
        c.send(b"GET http://admin.test/x HTTP/1.1\r\nHost: admin.test\r\n\r\n")
        assert c.read_response().body == b"admin"          # agreeing: routed to admin
    with RawClient(s.port) as c:
        c.send(b"GET http://public.test/x HTTP/1.1\r\nHost: admin.test\r\n\r\n")
        resp = c.read_response()
    if resp.status == 400:
        return
    # routed by Host to admin, the upstream reads public.test from the target: must agree
    got = (admin.snapshot() + public.snapshot())[-1]
    assert got.values("Host") == ["public.test"] and resp.body == b"public", \
        f"target says public.test, Host says admin.test: answered by {resp.body!r} with {got.head!r}"


def test_fragment_in_target_rejected(proxy):
    s = proxy()
    up = s.upstreams[0]
    proxy_error(s.port, b"GET /index.html#.png HTTP/1.1\r\nHost: example.test\r\n\r\n", 400)
    time.sleep(0.1)
    assert up.total_bytes() == 0


# -------------------------------------------------------------------------- responses
# Complete but malformed response heads: 502 from sluice, nothing of them passed on.
BAD_RESPONSES = [
    ("status_099", b"HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok"),
    ("status_600", b"HTTP/1.1 600 High\r\nContent-Length: 2\r\n\r\nok"),
    ("status_two_digits", b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status_four_digits", b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status_line_two_spaces", b"HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("version_http2", b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("nul_in_reason", b"HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok"),
    ("te_in_http10_response", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    ("te_then_cl", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
     b"2\r\nok\r\n0\r\n\r\n"),
    ("cl_list_differing", b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok"),
    ("cl_plus", b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"),
    ("cl_hex", b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok"),
    ("cl_over_63_bits", b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok"),
    ("cl_obs_fold", b"HTTP/1.1 200 OK\r\nContent-Length:\r\n 2\r\n\r\nok"),
    ("bare_cr_in_value", b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok"),
    ("ctl_in_value", b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok"),
    ("high_bit_name", b"HTTP/1.1 200 OK\r\nX-\xe9: a\r\nContent-Length: 2\r\n\r\nok"),
    ("space_in_name", b"HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 2\r\n\r\nok"),
    ("garbage_after_interim", b"HTTP/1.1 100 Continue\r\n\r\ngarbage\r\n\r\n"),
    ("unsolicited_101", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
     b"Connection: Upgrade\r\n\r\n"),
    ("head_larger_than_buffer", b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000
     + b"\r\nContent-Length: 2\r\n\r\nok"),
]


def _bad_then_good(up_name="A"):
    def handler(r):
        if r.target == "/bad":
            return Reply(raw=handler.raw, close=handler.close)
        return Reply(body=b"good")
    handler.raw, handler.close = b"", False
    return handler


def _assert_fresh_upstream_connection(s, up):
    resp = get(s.port, "/good")
    assert (resp.status, resp.body) == (200, b"good")
    reqs = up.snapshot()
    bad = [r for r in reqs if r.target == "/bad"]
    good = [r for r in reqs if r.target == "/good"]
    assert len(good) == 1 and bad
    assert good[0].conn_id not in {r.conn_id for r in bad}, "the broken upstream connection was reused"


@pytest.mark.parametrize("name,raw", BAD_RESPONSES, ids=[c[0] for c in BAD_RESPONSES])
def test_bad_response_is_502_and_connection_dropped(proxy, upstream, name, raw):
    handler = _bad_then_good()
    handler.raw = raw
    up = upstream("A", handler)
    s = proxy(up, servers=[f"{up.addr} max_fails=100"])
    t = time.monotonic()
    resp = proxy_error(s.port, simple_request("/bad"), 502)
    assert time.monotonic() - t < 2.0
    assert b"ok" not in resp.body and b"garbage" not in resp.body
    _assert_fresh_upstream_connection(s, up)


# Bodies broken after a good head: the head may already be out, so the client must see the
# connection close before the message completes, never the broken bytes, and never a
# well-formed end of message (no terminating 0-chunk, no full Content-Length).
# (id, raw, upstream closes after sending, bytes that must never reach the client)
BROKEN_BODIES = [
    ("truncated_chunked", CHUNKED_RESPONSE + b"5\r\nhel", True, b"0\r\n\r\n"),
    ("truncated_content_length", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", True, None),
    ("chunk_size_overflow", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n"
     b"fffffffffffffffffffff\r\nxx\r\n0\r\n\r\n", False, b"fffff"),
    ("chunk_data_overrun", CHUNKED_RESPONSE + b"2\r\nokXX0\r\n\r\n", False, b"XX"),
    ("chunk_ext_bare_lf", CHUNKED_RESPONSE + b"2;a\nok\r\n0\r\n\r\n", False, b"2;a\n"),
    ("bad_trailer", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX Bad: 1\r\n\r\n",
     False, b"X Bad"),
]


@pytest.mark.parametrize("name,raw,close,never", BROKEN_BODIES, ids=[c[0] for c in BROKEN_BODIES])
def test_broken_response_body_not_passed_on(proxy, upstream, name, raw, close, never):
    handler = _bad_then_good()
    handler.raw, handler.close = raw, close
    up = upstream("A", handler)
    s = proxy(up, servers=[f"{up.addr} max_fails=100"])
    with RawClient(s.port) as c:
        c.send(simple_request("/bad"))
        try:
            resp = c.read_response()
        except ClosedEarly:
            resp = None
        except (AssertionError, ValueError) as e:
            pytest.fail(f"sluice passed broken framing on to the client: {e}")
        if resp is not None:
            assert resp.status == 502, f"a broken response arrived complete: {resp.status} {resp.body!r}"
        rest = c.wait_closed(3)
    assert never is None or never not in rest, rest
    _assert_fresh_upstream_connection(s, up)


def test_bytes_after_response_not_passed_on(proxy, upstream):
    """A response followed by a second, unrequested one (response splitting): the client gets
    the first one exactly, nothing of the second, and the connection is not reused."""
    handler = _bad_then_good()
    handler.raw = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                   b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
    up = upstream("A", handler)
    s = proxy(up, servers=[f"{up.addr} max_fails=100"])
    with RawClient(s.port) as c:
        c.send(simple_request("/bad"))
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"ok")
        c.send(simple_request("/good"))
        resp = c.read_response()
        assert (resp.status, resp.body) == (200, b"good"), "the unrequested response was delivered"
    bad, good = up.snapshot()
    assert good.conn_id != bad.conn_id, "the upstream connection with extra bytes was reused"
