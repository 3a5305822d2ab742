#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/<target>/ and the dictionaries Fuzz/Corpus/<target>.dict.

Seeds are small, named inputs: valid messages, the classic request-smuggling variants, and
malformed ones for each rule. Re-run after editing; libFuzzer finds the rest from these.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")


def req(line, *fields, body=b""):
    head = line.encode() if isinstance(line, str) else line
    out = head + b"\r\n"
    for f in fields:
        out += (f.encode() if isinstance(f, str) else f) + b"\r\n"
    return out + b"\r\n" + body


H = "Host: example.com"

REQUESTS = {
    # Valid.
    "get-simple": req("GET / HTTP/1.1", H),
    "get-http10-no-host": req("GET /index.html HTTP/1.0"),
    "get-http10-keepalive": req("GET / HTTP/1.0", H, "Connection: keep-alive"),
    "get-browser": req("GET /search?q=sluice&lang=en HTTP/1.1", H, "User-Agent: Mozilla/5.0 (X11; Linux x86_64)",
                       "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "Accept-Encoding: gzip, br",
                       "Cookie: a=1; b=2", "Connection: keep-alive"),
    "post-content-length": req("POST /form HTTP/1.1", H, "Content-Type: application/x-www-form-urlencoded",
                               "Content-Length: 11", body=b"hello=world"),
    "post-chunked": req("POST /upload HTTP/1.1", H, "Transfer-Encoding: chunked",
                        body=b"5\r\nhello\r\n0\r\n\r\n"),
    "put-content-length-list": req("PUT /x HTTP/1.1", H, "Content-Length: 5, 5", body=b"hello"),
    "put-content-length-repeated": req("PUT /x HTTP/1.1", H, "Content-Length: 3", "Content-Length: 3", body=b"abc"),
    "post-content-length-zero-padded": req("POST / HTTP/1.1", H, "Content-Length: 0005", body=b"hello"),
    "websocket-upgrade": req("GET /chat HTTP/1.1", "Host: server.example.com", "Upgrade: websocket",
                             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                             "Sec-WebSocket-Version: 13"),
    "websocket-http10": req("GET /chat HTTP/1.0", H, "Upgrade: websocket", "Connection: upgrade"),
    "upgrade-h2c": req("GET / HTTP/1.1", H, "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                       "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"),
    "hop-by-hop-fields": req("GET / HTTP/1.1", H, "Connection: close, X-Secret, keep-alive", "X-Secret: 1",
                             "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "TE: trailers", "X-Kept: yes"),
    "hop-by-hop-repeated": req("GET / HTTP/1.1", H, "X-A: 1", "Connection: x-a", "x-a: 2", "Connection: X-B, upgrade",
                               "X-B: 3", "X-A: 4", "Upgrade: foo"),
    "x-forwarded-repeated": req("GET / HTTP/1.1", H, "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto:",
                                "X-Forwarded-For: 10.0.0.2", "X-Forwarded-Proto: https", "X-Forwarded-Port: 1",
                                "X-Forwarded-Port: 2", "X-Forwarded-Host: a", "X-Forwarded-Host: b"),
    "content-length-three-lines": req("POST / HTTP/1.1", H, "Content-Length: 2", "Content-Length: 2, 02",
                                      "content-length: 2", body=b"ok"),
    "connection-names-protected": req("POST / HTTP/1.1", H, "Connection: Host, Content-Length, X-Forwarded-For, te",
                                      "Content-Length: 2", "X-Forwarded-For: 1.2.3.4", body=b"ok"),
    "x-forwarded-all": req("GET / HTTP/1.1", H, "X-Forwarded-For: 198.51.100.1, 10.0.0.1", "X-Forwarded-Proto: https",
                           "X-Forwarded-Host: orig.example", "X-Forwarded-Port: 443", "x-forwarded-for: 10.9.9.9"),
    "x-forwarded-empty": req("GET / HTTP/1.1", H, "X-Forwarded-For:", "X-Forwarded-Host: ", "X-Forwarded-Proto: ftp"),
    "absolute-form": req("GET http://example.com:8080/p?q=1 HTTP/1.1", "Host: example.com:8080"),
    "absolute-form-https": req("GET https://example.com/ HTTP/1.1", H),
    "options-asterisk": req("OPTIONS * HTTP/1.1", H),
    "expect-100-continue": req("PUT /big HTTP/1.1", H, "Content-Length: 100000", "Expect: 100-continue"),
    "expect-http10-ignored": req("PUT /big HTTP/1.0", "Content-Length: 1", "Expect: something", body=b"x"),
    "leading-empty-lines": b"\r\n\r\n" + req("GET / HTTP/1.1", H),
    "host-ipv6": req("GET / HTTP/1.1", "Host: [::1]:8080"),
    "host-empty-http10": req("GET / HTTP/1.0", "Host:"),
    "host-pct-encoded": req("GET / HTTP/1.1", "Host: ex%41mple.com"),
    "pipelined": req("GET /a HTTP/1.1", H) + req("GET /b HTTP/1.1", H),
    "custom-method": req("PURGE /cache/item HTTP/1.1", H),
    "all-methods-delete": req("DELETE /r/1 HTTP/1.1", H),
    "patch-trace": req("PATCH /r HTTP/1.1", H, "Content-Length: 2", body=b"{}") + req("TRACE / HTTP/1.1", H),
    "ows-and-tabs": req("GET / HTTP/1.1", "Host:\texample.com \t", "Accept:   */*   "),
    "obs-text-value": req("GET / HTTP/1.1", H, b"X-Name: caf\xc3\xa9 \x80\xff"),
    "trailer-field": req("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", "Trailer: Expires", "TE: trailers"),
    "underscore-names": req("GET / HTTP/1.1", H, "X_Custom: 1", "user_agent: x", "_: 2", "Accept: */*"),
    "underscore-disguised": req("POST / HTTP/1.1", H, "Content_Length: 5", "Transfer_Encoding: chunked",
                                "X_Forwarded_For: 6.6.6.6", "x-forwarded_proto: https", "Keep_Alive: 1",
                                "Proxy_Connection: close", "X_FORWARDED_HOST: evil", "X-Forwarded_Port: 1",
                                "Content-Length: 0"),
    "forwarded": req("GET / HTTP/1.1", H, "Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43",
                     "forwarded: for=\"[2001:db8:cafe::17]:4711\"", "Connection: Forwarded"),
    "content-length-leading-zeros": req("POST / HTTP/1.1", H, "Content-Length: 010", body=b"0123456789"),
    "content-length-zero-zero": req("POST / HTTP/1.1", H, "Content-Length: 00"),
    "many-fields-431": req("GET / HTTP/1.1", H, *[f"X-F{i}: {i}" for i in range(130)]),
    # Framing the proxy refuses, and the classic smuggling variants.
    "smuggle-cl-te": req("POST / HTTP/1.1", H, "Content-Length: 6", "Transfer-Encoding: chunked",
                         body=b"0\r\n\r\nG"),
    "smuggle-te-cl": req("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", "Content-Length: 3",
                         body=b"8\r\nSMUGGLED\r\n0\r\n\r\n"),
    "smuggle-te-te": req("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", "Transfer-Encoding: x"),
    "smuggle-te-space-before-colon": req("POST / HTTP/1.1", H, "Transfer-Encoding : chunked"),
    "smuggle-te-obs-fold": req("POST / HTTP/1.1", H, "Transfer-Encoding:", " chunked"),
    "smuggle-te-xchunked": req("POST / HTTP/1.1", H, "Transfer-Encoding: xchunked"),
    "smuggle-te-chunked-twice": req("POST / HTTP/1.1", H, "Transfer-Encoding: chunked, chunked"),
    "smuggle-te-quoted": req("POST / HTTP/1.1", H, 'Transfer-Encoding: "chunked"'),
    "smuggle-te-chunked-param": req("POST / HTTP/1.1", H, "Transfer-Encoding: chunked;q=1"),
    "smuggle-te-gzip-chunked": req("POST / HTTP/1.1", H, "Transfer-Encoding: gzip, chunked"),
    "smuggle-te-chunked-gzip": req("POST / HTTP/1.1", H, "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"),
    "smuggle-te-vertical-tab": req("POST / HTTP/1.1", H, b"Transfer-Encoding:\x0bchunked"),
    "smuggle-te-http10": req("POST / HTTP/1.0", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
    "smuggle-te-empty": req("POST / HTTP/1.1", H, "Transfer-Encoding: ,"),
    "smuggle-te-uppercase": req("POST / HTTP/1.1", H, "TRANSFER-ENCODING: CHUNKED", body=b"0\r\n\r\n"),
    "smuggle-cl-differing": req("POST / HTTP/1.1", H, "Content-Length: 5", "Content-Length: 6"),
    "smuggle-cl-list-differing": req("POST / HTTP/1.1", H, "Content-Length: 5, 6"),
    "smuggle-cl-plus": req("POST / HTTP/1.1", H, "Content-Length: +5"),
    "smuggle-cl-negative": req("POST / HTTP/1.1", H, "Content-Length: -1"),
    "smuggle-cl-hex": req("POST / HTTP/1.1", H, "Content-Length: 0x5"),
    "smuggle-cl-overflow": req("POST / HTTP/1.1", H, "Content-Length: 99999999999999999999"),
    "smuggle-cl-empty": req("POST / HTTP/1.1", H, "Content-Length:"),
    "smuggle-cl-underscore-name": req("POST / HTTP/1.1", H, "Content_Length: 5"),
    "smuggle-bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
    "smuggle-bare-cr": b"GET / HTTP/1.1\rHost: a\r\n\r\n",
    "smuggle-lf-in-value": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nTransfer-Encoding: chunked\r\n\r\n",
    "nul-in-value": req("GET / HTTP/1.1", H, b"X: a\x00b"),
    "del-in-value": req("GET / HTTP/1.1", H, b"X: a\x7fb"),
    "double-space-request-line": req("GET  / HTTP/1.1", H),
    "tab-in-request-line": req("GET\t/ HTTP/1.1", H),
    "http09": b"GET /\r\n\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "version-lowercase": req("GET / http/1.1", H),
    "version-1-2": req("GET / HTTP/1.2", H),
    "version-2-0": req("GET / HTTP/2.0", H),
    "connect-method": req("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"),
    "missing-host": req("GET / HTTP/1.1"),
    "double-host": req("GET / HTTP/1.1", "Host: a", "Host: b"),
    "host-userinfo": req("GET / HTTP/1.1", "Host: user@evil.example"),
    "host-bad-port": req("GET / HTTP/1.1", "Host: a:8o"),
    "host-bad-ipv6": req("GET / HTTP/1.1", "Host: [::1%25eth0]"),
    "field-without-colon": req("GET / HTTP/1.1", H, "NoColon"),
    "empty-field-name": req("GET / HTTP/1.1", H, ": x"),
    "space-before-colon": req("GET / HTTP/1.1", "Host : a"),
    "expect-unknown": req("GET / HTTP/1.1", H, "Expect: 100-continue, fancy"),
    "asterisk-not-options": req("GET * HTTP/1.1", H),
    "absolute-form-no-host": req("GET http:///x HTTP/1.1", H),
    "target-relative": req("GET index.html HTTP/1.1", H),
    "target-high-bytes": req(b"GET /caf\xc3\xa9 HTTP/1.1", H),
    "incomplete-head": b"GET / HTTP/1.1\r\nHost: a\r\n",
    "request-line-only-partial": b"GET /very/long/path?with=query",
}


def resp(line, *fields, body=b""):
    return req(line, *fields, body=body)


RESPONSES = {
    "200-content-length": resp("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", body=b"hello"),
    "200-chunked": resp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
    "200-close-delimited": resp("HTTP/1.1 200 OK", "Content-Type: text/html", body=b"<html>"),
    "200-connection-close": resp("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 0"),
    "200-http10": resp("HTTP/1.0 200 OK", "Content-Length: 2", body=b"ok"),
    "200-http10-keepalive": resp("HTTP/1.0 200 OK", "Connection: keep-alive", "Keep-Alive: timeout=5, max=100",
                                 "Content-Length: 2", body=b"ok"),
    "200-te-gzip": resp("HTTP/1.1 200 OK", "Transfer-Encoding: gzip"),
    "200-te-gzip-chunked": resp("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"),
    "200-cl-list": resp("HTTP/1.1 200 OK", "Content-Length: 5, 5", body=b"hello"),
    "200-cl-repeated": resp("HTTP/1.1 200 OK", "Content-Length: 5", "content-length: 5", body=b"hello"),
    "200-hop-by-hop": resp("HTTP/1.1 200 OK", "Connection: X-Internal, keep-alive", "X-Internal: secret",
                           "Keep-Alive: timeout=5", "Proxy-Connection: close", "TE: trailers", "Upgrade: h2c",
                           "Content-Length: 0"),
    "200-hop-by-hop-repeated": resp("HTTP/1.1 200 OK", "X-A: 1", "Connection: x-a", "x-a: 2", "Connection: X-B",
                                    "X-B: 3", "Content-Length: 1, 1", "Content-Length: 1", body=b"x"),
    "200-set-cookies": resp("HTTP/1.1 200 OK", "Set-Cookie: a=1; Path=/; HttpOnly", "Set-Cookie: b=2; Secure",
                            "Cache-Control: no-store", "Content-Length: 0"),
    "200-trailer-field": resp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Trailer: Expires"),
    "200-no-reason": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "200-empty-reason": b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    "200-reason-obs-text": resp(b"HTTP/1.1 200 \xc3\x96K\tfine", "Content-Length: 0"),
    "204-no-content": resp("HTTP/1.1 204 No Content", "Content-Length: 0"),
    "204-chunked": resp("HTTP/1.1 204 No Content", "Transfer-Encoding: chunked", "X-A: 1"),
    "100-with-framing": resp("HTTP/1.1 100 Continue", "Content-Length: 010"),
    "200-cl-leading-zeros": resp("HTTP/1.1 200 OK", "Content-Length: 005", body=b"hello"),
    "200-underscore-forwarded": resp("HTTP/1.1 200 OK", "X_Backend: a", "Forwarded: for=x", "Content-Length: 0"),
    "304-with-length": resp("HTTP/1.1 304 Not Modified", "Content-Length: 1234", "ETag: \"abc\""),
    "304-cl-list": resp("HTTP/1.1 304 Not Modified", "Content-Length: 7, 7"),
    "100-continue": b"HTTP/1.1 100 Continue\r\n\r\n",
    "103-early-hints": resp("HTTP/1.1 103 Early Hints", "Link: </style.css>; rel=preload; as=style"),
    "101-websocket": resp("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    "404-not-found": resp("HTTP/1.1 404 Not Found", "Content-Length: 9", body=b"not found"),
    "599-max-status": resp("HTTP/1.1 599 Whatever", "Content-Length: 0"),
    # Faulty responses (502).
    "bad-cl-te": resp("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"),
    "bad-cl-differing": resp("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 7"),
    "bad-cl-negative": resp("HTTP/1.1 200 OK", "Content-Length: -1"),
    "bad-te-http10": resp("HTTP/1.0 200 OK", "Transfer-Encoding: chunked"),
    "bad-te-chunked-twice": resp("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, chunked"),
    "bad-status-2-digits": resp("HTTP/1.1 20 OK"),
    "bad-status-600": resp("HTTP/1.1 600 Nope"),
    "bad-status-099": resp("HTTP/1.1 099 Nope"),
    "bad-version-http2": resp("HTTP/2 200"),
    "bad-version-lowercase": resp("http/1.1 200 OK"),
    "bad-version-1-2": resp("HTTP/1.2 200 OK"),
    "bad-bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "bad-obs-fold": resp("HTTP/1.1 200 OK", "X-A: a", " folded", "Content-Length: 0"),
    "bad-space-before-colon": resp("HTTP/1.1 200 OK", "Content-Length : 0"),
    "bad-nul-in-reason": resp(b"HTTP/1.1 200 O\x00K", "Content-Length: 0"),
    "bad-no-space-after-version": resp("HTTP/1.1200 OK"),
    "interim-then-final": b"HTTP/1.1 100 Continue\r\n\r\n" + resp("HTTP/1.1 200 OK", "Content-Length: 0"),
}

CHUNKED = {
    "simple": b"5\r\nhello\r\n0\r\n\r\n",
    "empty-body": b"0\r\n\r\n",
    "several-chunks": b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
    "hex-sizes": b"A\r\n0123456789\r\na\r\n0123456789\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
    "leading-zeros": b"0005\r\nhello\r\n000\r\n\r\n",
    "extension-token": b"5;name=value\r\nhello\r\n0;last\r\n\r\n",
    "extension-quoted": b'5;name="va\\"l; ue"\r\nhello\r\n0\r\n\r\n',
    "extension-bws": b"5 ; a = b ;c\t;d=\"x\"\r\nhello\r\n0\r\n\r\n",
    "extension-obs-text": b'5;a="\xc3\xa9\x80"\r\nhello\r\n0\r\n\r\n',
    "trailers": b"5\r\nhello\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\nX-Checksum:  abc \r\n\r\n",
    "trailer-empty-value": b"0\r\nX-Empty:\r\n\r\n",
    "trailers-managed": b"3\r\nabc\r\n0\r\nContent-Length: 5\r\nX-Kept: 1\r\nTransfer-Encoding: chunked\r\nHost: h\r\n"
                        b"Trailer: X\r\nConnection: close\r\nX-Forwarded-For: 1.2.3.4\r\nForwarded: for=x\r\nTE: trailers\r\n"
                        b"keep-alive: 1\r\nx-other:\tv \r\n\r\n",
    "uppercase-hex-extensions": b"00A;a=b\r\n0123456789\r\n1F ; q=\"x;y\"\r\n" + b"z" * 31 + b"\r\n00;last\r\nX: 1\r\n\r\n",
    "canonical": b"a\r\n0123456789\r\n1\r\n\n\r\n0\r\nX-Sum: abc\r\n\r\n",
    "data-with-crlf": b"4\r\n\r\n\r\n\r\n0\r\n\r\nPOST / HTTP/1.1\r\n",
    "followed-by-next-request": b"5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
    "smuggle-after-last-chunk": b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: internal\r\n\r\n",
    "binary-data": b"8\r\n\x00\r\n\xff\x0a\x0d\r\n\r\n0\r\n\r\n",
    "size-max": b"4000000000000000\r\n",
    "size-over-max": b"4000000000000001\r\n",
    "size-huge": b"FFFFFFFFFFFFFFFFFFFF\r\nx",
    "incomplete-data": b"5\r\nhel",
    "incomplete-final": b"0\r\n\r",
    "incomplete-trailer": b"0\r\nX: y\r\n",
    # Malformed.
    "bare-lf": b"5\nhello\n0\n\n",
    "bare-lf-after-data": b"5\r\nhello\n0\r\n\r\n",
    "bare-cr-size-line": b"5\rhello\r\n0\r\n\r\n",
    "size-negative": b"-5\r\nhello\r\n0\r\n\r\n",
    "size-0x": b"0x5\r\nhello\r\n0\r\n\r\n",
    "size-plus": b"+5\r\nhello\r\n0\r\n\r\n",
    "size-trailing-space": b"5 \r\nhello\r\n0\r\n\r\n",
    "size-leading-space": b" 5\r\nhello\r\n0\r\n\r\n",
    "size-empty": b"\r\nhello\r\n0\r\n\r\n",
    "data-too-long": b"5\r\nhelloX\r\n0\r\n\r\n",
    "data-cr-cr-lf": b"5\r\nhello\r\r\n0\r\n\r\n",
    "extension-empty-name": b"5;=x\r\nhello\r\n0\r\n\r\n",
    "extension-double-semicolon": b"5;;a\r\nhello\r\n0\r\n\r\n",
    "extension-lf-in-quotes": b'5;a="x\ny"\r\nhello\r\n0\r\n\r\n',
    "extension-unterminated-quote": b'5;a="x\r\nhello\r\n0\r\n\r\n',
    "extension-space-before-cr": b"5;a \r\nhello\r\n0\r\n\r\n",
    "extension-long-line": b"1;" + b"a" * 4100 + b"\r\nx\r\n0\r\n\r\n",
    "trailer-obs-fold": b"0\r\nX: a\r\n b\r\n\r\n",
    "trailer-space-in-name": b"0\r\nBad Name: x\r\n\r\n",
    "trailer-no-colon": b"0\r\nNoColon\r\n\r\n",
    "trailer-bare-lf": b"0\r\nX: a\n\r\n",
    "trailer-too-large": b"0\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(170)) + b"\r\n",
}


# HTTP/2: FuzzHTTP2 reads a control byte (bit 0: prepend the client preface; bit 1: answer every
# request; bit 2: hand request bodies back late; bit 3: GOAWAY after the first request; bit 4:
# reset every third request; bits 5-6: time between pieces; bit 7: tight limits), then the
# client's bytes. Frames and HPACK (literals without Huffman) are built here by hand.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + [value])


def literal(name, value, indexing=False):
    name, value = (x.encode() if isinstance(x, str) else x for x in (name, value))
    return bytes([0x40 if indexing else 0x00]) + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def block(fields):
    return b"".join(literal(n, v) for n, v in fields)


def settings(*pairs):
    return frame(0x4, 0, 0, b"".join(i.to_bytes(2, "big") + v.to_bytes(4, "big") for i, v in pairs))


def headers(stream, fields, end_stream=True, end_headers=True):
    return frame(0x1, (0x1 if end_stream else 0) | (0x4 if end_headers else 0), stream, block(fields))


def data(stream, payload, end_stream=False):
    return frame(0x0, 0x1 if end_stream else 0, stream, payload)


GET = [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]
POST = [(":method", "POST"), (":scheme", "https"), (":path", "/up"), (":authority", "example.com")]
START = settings((0x3, 100), (0x4, 65535))


def h2(control, *frames, preface=True):
    return bytes([control | (0x01 if preface else 0)]) + b"".join(frames)


H2 = {
    "get": h2(0x02, START, headers(1, GET)),
    "get-full-preface-in-input": bytes([0x02]) + PREFACE + START + headers(1, GET),
    "get-tight": h2(0x82, START, headers(1, GET)),
    "get-not-answered": h2(0x00, START, headers(1, GET + [("user-agent", "fuzz/1"), ("accept", "*/*")])),
    "cookies": h2(0x02, START, headers(1, GET + [("cookie", "a=1"), ("x-a", "1"), ("cookie", "b=2"), ("cookie", "")])),
    "host-without-authority": h2(0x02, START, headers(1, GET[:3] + [("host", "h.example:8080"), ("x-b", "2")])),
    "host-equal-authority": h2(0x02, START, headers(1, GET + [("host", "EXAMPLE.com")])),
    "options-asterisk": h2(0x02, START, headers(1, [(":method", "OPTIONS"), (":scheme", "https"), (":path", "*"),
                                                  (":authority", "a")])),
    "connect": h2(0x02, START, headers(1, [(":method", "CONNECT"), (":authority", "example.com:443")])),
    "post-content-length": h2(0x02, START, headers(1, POST + [("content-length", "0005")], end_stream=False),
                              data(1, b"hello", end_stream=True)),
    "post-chunked-trailers": h2(0x06, START, headers(1, POST + [("te", "trailers")], end_stream=False),
                                data(1, b"first"), data(1, b"second"), headers(1, [("x-sum", "1"), ("content-length", "3")])),
    "post-padded": h2(0x02, START, headers(1, POST, end_stream=False), frame(0x0, 0x9, 1, b"\x03abc\x00\x00\x00")),
    "post-window": h2(0x86, START, headers(1, POST, end_stream=False), data(1, b"x" * 100), data(1, b"y" * 50),
                      frame(0x8, 0, 1, (1000).to_bytes(4, "big")), data(1, b"", end_stream=True)),
    "continuation": h2(0x02, START, headers(1, GET[:2], end_headers=False), frame(0x9, 0x4, 1, block(GET[2:]))),
    "many-streams": h2(0x02, START, *[headers(2 * i + 1, GET) for i in range(12)]),
    "rapid-reset": h2(0x00, START, *[headers(2 * i + 1, POST, end_stream=False) + frame(0x3, 0, 2 * i + 1, b"\0\0\0\x08")
                                      for i in range(8)]),
    "server-resets": h2(0x12, START, *[headers(2 * i + 1, GET) for i in range(4)]),
    "goaway-after-first": h2(0x0A, START, headers(1, GET), headers(3, GET)),
    "client-goaway": h2(0x02, START, headers(1, GET), frame(0x7, 0, 0, b"\0\0\0\x01\0\0\0\0debug")),
    "ping-priority-window": h2(0x62, START, frame(0x6, 0, 0, b"12345678"), frame(0x2, 0, 3, b"\0\0\0\0\x10"),
                               frame(0x8, 0, 0, (1 << 20).to_bytes(4, "big")), headers(1, GET)),
    "settings-ack-and-unknown": h2(0x02, START, frame(0x4, 0x1, 0), frame(0xFA, 0, 0, b"ext"), headers(1, GET)),
    "hpack-dynamic-table": h2(0x02, START, frame(0x1, 0x5, 1, block(GET) + literal("x-big", "v" * 300, indexing=True)
                                                 + hpack_int(62, 7, 0x80) * 4)),
    "header-list-too-large": h2(0x02, START, headers(1, GET + [("x-big", "b" * 2000)])),
    "path-too-long-tight": h2(0x82, START, headers(1, [(":method", "GET"), (":scheme", "https"), (":path", "/" + "p" * 1100),
                                                       (":authority", "a")])),
    "malformed-uppercase": h2(0x02, START, headers(1, GET + [("X-Upper", "1")]), headers(3, GET)),
    "malformed-connection-field": h2(0x02, START, headers(1, GET + [("connection", "close")])),
    "malformed-pseudo-order": h2(0x02, START, headers(1, [(":method", "GET"), ("x", "1"), (":path", "/")])),
    "bad-preface": bytes([0x00]) + b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n" + START,
    "frame-too-large": h2(0x02, START, data(1, b"z" * 16385)),
}

EXAMPLE = os.path.join(HERE, "..", "proxy.conf.example")

CONFIGS = {
    "minimal": "backend app { server 127.0.0.1:9001; }\nfrontend web { listen 127.0.0.1:8080; backend app; }\n",
    "full": """workers 4;
pid_file run/sluice.pid;
error_log logs/error.log warn;
drain_timeout 1m;
max_connections 2048;
stats {
    listen 127.0.0.1:9090;
    listen [::1]:9090;
    allow 127.0.0.0/8;
    allow ::1;
}
backend app {
    balance least_conn;
    server 127.0.0.1:9001 weight=3 max_fails=2 fail_timeout=5s;
    server app2.internal:9000 backup;
    server [::1]:9443 tls verify=off ca=ca.pem sni=app.example.com;
    health_check path=/healthz interval=2s timeout=500ms rise=2 fall=3 expect=200-299;
    keepalive 0;
    retries 1;
    timeout connect 2s;
    timeout read 30s;
}
frontend web {
    mode http;
    listen *:8080;
    listen [::]:8443 tls;
    certificate certs/site.crt /etc/keys/site.key;
    trusted_proxies 10.0.0.0/8 192.168.0.0/16 fd00::/8;
    route host=static.example.com path=/img/ backend=app;
    route path=/api/ backend=app;
    backend app;
    access_log /var/log/sluice/access.log json;
    timeout header 5s;
    timeout idle 1h;
    max_header_size 64k;
    max_body_size 10m;
}
""",
    "tcp-frontend": "backend db { server 10.0.0.5:5432; }\nfrontend pg { mode tcp; listen 127.0.0.1:5433; backend db; }\n",
    "routes-only": "backend a { server h:1; }\nfrontend f { listen 0.0.0.0:80; route host=A.example backend=a; }\n",
    "quoted-strings": 'pid_file "dir with spaces/sluice.pid";\nerror_log "a\\"b\\\\c" debug;\n'
                      'backend "x y" { server "127.0.0.1:1"; }\nfrontend f { listen 127.0.0.1:1; backend "x y"; }\n',
    "comments-and-crlf": "# comment\r\nbackend a { # inline\r\n  server 127.0.0.1:1; }\r\nfrontend f {\r\n"
                         "listen 127.0.0.1:2;\tbackend a;\r\n}\r\n# trailing",
    "unicode-names": "backend café { server 127.0.0.1:1; }\nfrontend 前端 { listen 127.0.0.1:2; backend café; }\n",
    "empty": "",
    "only-comment": "# nothing here\n",
    # Errors.
    "missing-semicolon": "workers 2\nbackend a { server 127.0.0.1:1 }\n",
    "unknown-directive": "wrokers 2;\nfrontend f { listne 127.0.0.1:1; }\n",
    "not-allowed-here": "listen 127.0.0.1:80;\nbackend a { mode tcp; server 1.2.3.4:5; }\n",
    "unbalanced-open": "backend a {\n server 127.0.0.1:1;\n",
    "unbalanced-close": "}\nworkers 1;}\n",
    "unterminated-quote": 'pid_file "never closed;\nworkers 2;\n',
    "invalid-escape": 'pid_file "a\\nb";\n',
    "quoted-newline": 'pid_file "line one\nline two";\nworkers "1\n2";\n',
    "duplicates": "backend a { server 127.0.0.1:1; server 127.0.0.1:1; }\nbackend a { server 127.0.0.1:2; }\n"
                  "frontend f { listen 127.0.0.1:1; listen 127.0.0.1:1; backend a; backend a; }\n",
    "unknown-backend": "frontend f { listen 127.0.0.1:1; backend nowhere; route path=/x backend=none; }\n",
    "bad-values": "workers 0;\nmax_connections -1;\ndrain_timeout 10x;\n"
                  "backend a { server 127.0.0.1:99999 weight=0 max_fails=x fail_timeout=1d bogus; keepalive 1.5;"
                  " timeout connect 0; timeout header 1s; health_check expect=600 path=nope rise=0; }\n"
                  "frontend f { listen 1.2.3:80; max_header_size 10; max_body_size 1t; trusted_proxies 10.0.0.0/33 x;"
                  " access_log stdout xml; mode udp; backend a; }\n",
    "tls-mismatch": "backend a { server h:1 verify=on; }\nfrontend f { listen 127.0.0.1:443 tls; backend a; }\n"
                    "frontend g { listen 127.0.0.1:444; certificate c k; backend a; }\n",
    "empty-args": 'pid_file "";\nbackend "" { server ""; }\n',
    "block-without-name": "{ workers 1; }\nstats;\nbackend;\n",
    "huge-numbers": "workers 99999999999999999999999;\ndrain_timeout 9223372036854775807h;\n"
                    "frontend f { listen 127.0.0.1:1; max_body_size 9999999999999g; backend a; }\n",
    "ipv6-forms": "stats { listen [::ffff:127.0.0.1]:9; listen [0:0::1]:9; listen [::1]:9; allow ::/0; }\n",
}

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(ver_cmd, fam, body, length=None):
    n = len(body) if length is None else length
    return V2_SIG + bytes([ver_cmd, fam, n >> 8, n & 0xFF]) + body


V4_BLOCK = bytes([172, 19, 0, 1, 172, 19, 0, 3, 0xA6, 0x52, 0x00, 0x50])
V6_BLOCK = bytes([0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1]) + bytes([0] * 15 + [1]) + b"\x01\xbb\xff\xff"
FFFF = ":".join(["ffff"] * 8)

PROXY = {
    # v1, valid.
    "v1-tcp4": b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "v1-tcp4-zeros": b"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
    "v1-tcp6": b"PROXY TCP6 2001:db8::1 ::1 1 8443\r\n",
    "v1-tcp6-longest": ("PROXY TCP6 %s %s 65535 65535\r\n" % (FFFF, FFFF)).encode(),
    "v1-tcp6-mapped": b"PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1 2\r\n",
    "v1-tcp6-dotted-tail": b"PROXY TCP6 64:ff9b::192.0.2.33 1:2:3:4:5:6:7:8 80 443\r\n",
    "v1-tcp6-uppercase": b"PROXY TCP6 ABCD:EF01::1 FE80::204:61ff:FE9D:F156 1 2\r\n",
    "v1-unknown": b"PROXY UNKNOWN\r\n",
    "v1-unknown-long": ("PROXY UNKNOWN %s %s 65535 65535\r\n" % (FFFF, FFFF)).encode(),
    # v1, invalid.
    "v1-leading-zero-octet": b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
    "v1-leading-zero-port": b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
    "v1-port-too-big": b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
    "v1-octet-too-big": b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
    "v1-double-space": b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
    "v1-bare-lf": b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    "v1-no-crlf": b"PROXY UNKNOWN " + b"x" * 100,
    "v1-family-mismatch": b"PROXY TCP4 ::1 ::1 1 2\r\n",
    "v1-two-gaps": b"PROXY TCP6 1::2::3 ::1 1 2\r\n",
    "v1-nine-groups": b"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
    "v1-lowercase": b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "v1-partial": b"PROXY TCP4 1.2.3.4 5.6",
    # v2, valid.
    "v2-tcp4": v2(0x21, 0x11, V4_BLOCK) + b"GET / HTTP/1.1\r\n\r\n",
    "v2-tcp6": v2(0x21, 0x21, V6_BLOCK),
    "v2-tcp4-tlvs": v2(0x21, 0x11, V4_BLOCK + b"\x01\x00\x02h2\x04\x00\x00\xea\x00\x03abc"),
    "v2-tcp6-ssl-tlv": v2(0x21, 0x21, V6_BLOCK + b"\x20\x00\x0c\x01\x00\x00\x00\x00\x21\x00\x04TLS3"),
    "v2-local": v2(0x20, 0x00, b""),
    "v2-local-with-block": v2(0x20, 0x11, V4_BLOCK),
    "v2-unspec": v2(0x21, 0x00, b""),
    "v2-unix": v2(0x21, 0x31, b"/" * 216),
    "v2-udp4": v2(0x21, 0x12, V4_BLOCK),
    "v2-tcp6-mapped": v2(0x21, 0x21, bytes([0] * 10 + [0xFF, 0xFF, 10, 0, 0, 1] + [0] * 10 + [0xFF, 0xFF, 10, 0, 0, 2]) + b"\x00\x01\x00\x02"),
    # v2, invalid.
    "v2-version-1": v2(0x11, 0x11, V4_BLOCK),
    "v2-command-2": v2(0x22, 0x11, V4_BLOCK),
    "v2-family-4": v2(0x21, 0x41, V4_BLOCK),
    "v2-short-block": v2(0x21, 0x11, V4_BLOCK[:11]),
    "v2-tlv-overrun": v2(0x21, 0x11, V4_BLOCK + b"\x01\x00\x05h2"),
    "v2-too-long": v2(0x21, 0x11, b"", length=0xFFFF),
    "v2-partial": v2(0x21, 0x21, V6_BLOCK)[:30],
    "v2-bad-signature": b"\r\n\r\n\x00\r\nQUIT\r" + b"\x21\x11\x00\x0c" + V4_BLOCK,
    # Neither.
    "http-request": b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "tls-client-hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
}

DICTS = {
    "FuzzRequestHead": [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", " HTTP/1.1\r\n",
        " HTTP/1.0\r\n", "HTTP/", "\r\n", "\r\n\r\n", ": ", "http://", "https://", "*", "/",
        "Host: ", "Content-Length: ", "Transfer-Encoding: ", "chunked", "gzip", "Connection: ", "close",
        "keep-alive", "upgrade", "Upgrade: ", "websocket", "Keep-Alive: ", "Proxy-Connection: ", "TE: ",
        "trailers", "Expect: ", "100-continue", "X-Forwarded-For: ", "X-Forwarded-Proto: ",
        "X-Forwarded-Host: ", "X-Forwarded-Port: ", "Trailer: ", ", ", ";q=1", "\"", "[::1]", ":8080", "%41",
        "Forwarded: ", "for=", "_", "X_Forwarded_For: ", "Content_Length: ", "Transfer_Encoding: ", "0",
    ],
    "FuzzResponseHead": [
        "HTTP/1.1 ", "HTTP/1.0 ", "200 OK", "100", "101", "103", "204", "304", "404", "\r\n", "\r\n\r\n",
        ": ", "Content-Length: ", "Transfer-Encoding: ", "chunked", "gzip", "Connection: ", "close",
        "keep-alive", "upgrade", "Upgrade: ", "websocket", "Keep-Alive: ", "Proxy-Connection: ", "TE: ",
        "Trailer: ", ", ", "Forwarded: ", "_", "0",
    ],
    "FuzzChunked": [
        "\r\n", "0\r\n\r\n", ";", "=", "\"", "\\", " ", "\t", "ff", "4000000000000000", ": ", "00", "A", "F",
        "Content-Length: ", "Transfer-Encoding: ", "Host: ", "Trailer: ", "Connection: ", "TE: ", "X-Forwarded-For: ",
        "Forwarded: ",
    ],
    "FuzzHTTP2": [
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\x00\x00\x00\x04\x00\x00\x00\x00\x00", "\x00\x00\x00\x04\x01\x00\x00\x00\x00",
        "\x00\x00\x08\x06\x00\x00\x00\x00\x00", "\x01\x05\x00\x00\x00\x01", "\x00\x01\x00\x00\x00\x01",
        "\x03\x00\x00\x00\x00\x01", "\x09\x04\x00\x00\x00\x01", "\x08\x00\x00\x00\x00\x00",
        ":method", ":path", ":scheme", ":authority", ":status", ":protocol", "GET", "POST", "CONNECT", "OPTIONS",
        "https", "example.com", "host", "cookie", "content-length", "te", "trailers", "connection", "expect",
        "100-continue", "\x07:method\x03GET", "\x05:path\x01/", "\x40", "\x82", "\xbe", "\x3f\xe1\x1f",
    ],
    "FuzzConfig": [
        "workers", "pid_file", "error_log", "drain_timeout", "max_connections", "stats", "backend",
        "frontend", "listen", "allow", "balance", "server", "health_check", "keepalive", "retries",
        "timeout", "mode", "certificate", "trusted_proxies", "route", "access_log", "max_header_size",
        "max_body_size", "round_robin", "least_conn", "connect", "read", "header", "idle", "http", "tcp",
        "tls", "backup", "weight=", "max_fails=", "fail_timeout=", "verify=", "ca=", "sni=", "path=",
        "interval=", "rise=", "fall=", "expect=", "host=", "backend=", "combined", "json", "stdout",
        "stderr", "off", "auto", "127.0.0.1:", "[::1]:", "*:", "/8", "ms", "s", "m", "h", "k", "g", "{",
        "}", ";", "\"", "\\\"", "#", "\n",
    ],
    "FuzzProxyProtocol": [
        "PROXY ", "TCP4 ", "TCP6 ", "UNKNOWN", " ", "\r\n", "::", "::ffff:", ":", ".", "0", "255", "65535",
        "65536", "ffff", "2001:db8", "\r\n\r\n\x00\r\nQUIT\n", "\x21\x11\x00\x0c", "\x21\x21\x00\x24",
        "\x20\x00\x00\x00", "\x21\x31\x00\xd8", "\x00\x00\x03", "\x20\x00\x05",
    ],
}


def dict_line(token):
    escaped = "".join(
        c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else ("\\" + c if c in '"\\' else "\\x%02x" % ord(c))
        for c in token
    )
    return '"%s"\n' % escaped


def write(target, seeds):
    folder = os.path.join(CORPUS, target)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, data in seeds.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    with open(os.path.join(CORPUS, target + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for %s (written by Fuzz/seeds.py)\n" % target)
        for token in DICTS[target]:
            f.write(dict_line(token))


def main():
    configs = dict(CONFIGS)
    if os.path.exists(EXAMPLE):
        with open(EXAMPLE) as f:
            configs["proxy-conf-example"] = f.read()
    write("FuzzRequestHead", REQUESTS)
    write("FuzzResponseHead", RESPONSES)
    write("FuzzChunked", CHUNKED)
    write("FuzzConfig", configs)
    write("FuzzProxyProtocol", PROXY)
    write("FuzzHTTP2", H2)
    for target in DICTS:
        print(target, len(os.listdir(os.path.join(CORPUS, target))), "seeds")


if __name__ == "__main__":
    main()
