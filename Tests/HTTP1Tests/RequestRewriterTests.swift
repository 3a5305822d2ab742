import HTTP1
import XCTest

final class RequestRewriterTests: XCTestCase {
    /// Parses `request` and rewrites it with the given context; nil when the output did not fit.
    func rewrite(_ request: String, peer: String = "192.0.2.7", port: String = "8080", https: Bool = false,
                 trusted: Bool = false, upstreamHTTP10: Bool = false, keepUnderscores: Bool = false,
                 capacity: Int = 4096) throws -> String? {
        let p = try parseRequest(request).get()
        let peerBytes = Array(peer.utf8)
        let portBytes = Array(port.utf8)
        var out = [UInt8](repeating: 0, count: capacity)
        let n = p.bytes.withUnsafeBytes { source in
            peerBytes.withUnsafeBytes { peer in
                portBytes.withUnsafeBytes { port in
                    out.withUnsafeMutableBytes { out in
                        RequestRewriter.write(p.head, headers: p.headers, source: source,
                                              context: ForwardContext(peer: peer, port: port, https: https, trusted: trusted,
                                                                      upstreamHTTP10: upstreamHTTP10, keepUnderscores: keepUnderscores),
                                              into: out)
                    }
                }
            }
        }
        return n.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    func testUntrustedPeer() throws {
        let request = """
            POST /submit?x=1 HTTP/1.1\r
            Host: example.com\r
            X-Forwarded-For: 6.6.6.6\r
            User-Agent: test\r
            x-forwarded-proto: https\r
            X-Forwarded-Host: evil\r
            X-Forwarded-Port: 1\r
            Content-Length: 3\r
            \r\n
            """
        XCTAssertEqual(try rewrite(request), """
            POST /submit?x=1 HTTP/1.1\r
            Host: example.com\r
            User-Agent: test\r
            Content-Length: 3\r
            X-Forwarded-For: 192.0.2.7\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Host: example.com\r
            X-Forwarded-Port: 8080\r
            \r\n
            """)
        XCTAssertEqual(try rewrite("GET / HTTP/1.1\r\nHost: a:81\r\n\r\n", peer: "::1", port: "443", https: true), """
            GET / HTTP/1.1\r
            Host: a:81\r
            X-Forwarded-For: ::1\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: a:81\r
            X-Forwarded-Port: 443\r
            \r\n
            """)
    }

    func testTrustedPeerMergesForwardedForLines() throws {
        let request = """
            GET / HTTP/1.1\r
            Host: example.com\r
            X-Forwarded-For: 203.0.113.1, 10.0.0.1\r
            Accept: */*\r
            X-Forwarded-For:   10.0.0.2  \r
            X-Forwarded-Proto: https\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Host: public.example\r
            X-Forwarded-Port: 443\r
            \r\n
            """
        XCTAssertEqual(try rewrite(request, peer: "10.0.0.3", trusted: true), """
            GET / HTTP/1.1\r
            Host: example.com\r
            Accept: */*\r
            X-Forwarded-For: 203.0.113.1, 10.0.0.1, 10.0.0.2, 10.0.0.3\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: public.example\r
            X-Forwarded-Port: 443\r
            \r\n
            """)
    }

    func testTrustedPeerWithoutForwardedFields() throws {
        XCTAssertEqual(try rewrite("GET / HTTP/1.1\r\nHost: h\r\n\r\n", peer: "10.0.0.3", https: true, trusted: true), """
            GET / HTTP/1.1\r
            Host: h\r
            X-Forwarded-For: 10.0.0.3\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: h\r
            X-Forwarded-Port: 8080\r
            \r\n
            """)
    }

    func testNoHostOmitsForwardedHost() throws {
        XCTAssertEqual(try rewrite("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n"), """
            GET / HTTP/1.0\r
            Accept: */*\r
            X-Forwarded-For: 192.0.2.7\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Port: 8080\r
            \r\n
            """)
    }

    func testHopByHopRemovalIncludingConnectionNamedFields() throws {
        let request = """
            GET /x HTTP/1.1\r
            Host: a\r
            Connection: keep-alive, X-Secret, Host, Content-Length, Transfer-Encoding, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Port\r
            Keep-Alive: timeout=5\r
            Proxy-Connection: keep-alive\r
            TE: trailers\r
            Upgrade: h2c\r
            X-Secret: s\r
            Trailer: X-Sum\r
            A: 1\r
            B: 2\r
            Transfer-Encoding: chunked\r
            X-Forwarded-For: 10.1.1.1\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: fh\r
            X-Forwarded-Port: 1\r
            \r\n
            """
        XCTAssertEqual(try rewrite(request, peer: "10.0.0.9", trusted: true), """
            GET /x HTTP/1.1\r
            Host: a\r
            Trailer: X-Sum\r
            A: 1\r
            B: 2\r
            Transfer-Encoding: chunked\r
            X-Forwarded-For: 10.1.1.1, 10.0.0.9\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: fh\r
            X-Forwarded-Port: 1\r
            \r\n
            """)
    }

    func testWebSocketUpgradeIsKept() throws {
        let request = """
            GET /chat HTTP/1.1\r
            Host: a\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            \r\n
            """
        XCTAssertEqual(try rewrite(request), """
            GET /chat HTTP/1.1\r
            Host: a\r
            Upgrade: websocket\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            X-Forwarded-For: 192.0.2.7\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Host: a\r
            X-Forwarded-Port: 8080\r
            Connection: upgrade\r
            \r\n
            """)
    }

    func testHTTP10Upstream() throws {
        XCTAssertEqual(try rewrite("GET /old?q HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nX: y\r\n\r\n", upstreamHTTP10: true), """
            GET /old?q HTTP/1.0\r
            Host: a\r
            X: y\r
            X-Forwarded-For: 192.0.2.7\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Host: a\r
            X-Forwarded-Port: 8080\r
            Connection: close\r
            \r\n
            """)
        XCTAssertEqual(try rewrite("GET / HTTP/1.1\r\nHost: a\r\n\r\n", upstreamHTTP10: true)?.hasPrefix("GET / HTTP/1.0\r\nHost: a\r\n"), true)
    }

    func testExpectContinueIsForwarded() throws {
        XCTAssertEqual(try rewrite("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"), """
            PUT /f HTTP/1.1\r
            Host: a\r
            Expect: 100-continue\r
            Content-Length: 10\r
            X-Forwarded-For: 192.0.2.7\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Host: a\r
            X-Forwarded-Port: 8080\r
            \r\n
            """)
    }

    func testMergedContentLengthsAreSentAsOneLine() throws {
        let request = "POST / HTTP/1.1\r\nContent-Length: 1234567890\r\nHost: a\r\ncontent-length: 1234567890, 1234567890\r\nB: 2\r\n\r\n"
        XCTAssertEqual(try rewrite(request), """
            POST / HTTP/1.1\r
            Host: a\r
            B: 2\r
            Content-Length: 1234567890\r
            X-Forwarded-For: 192.0.2.7\r
            X-Forwarded-Proto: http\r
            X-Forwarded-Host: a\r
            X-Forwarded-Port: 8080\r
            \r\n
            """)
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0,0\r\n\r\n")?.contains("\r\nContent-Length: 0\r\nX-Forwarded-For"), true)
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nContent-Length:  7 \r\nHost: a\r\n\r\n")?.hasPrefix("POST / HTTP/1.1\r\nContent-Length:  7 \r\nHost: a\r\n"), true,
                       "a single line in plain decimal is copied as it came")
    }

    func testContentLengthWithLeadingZerosIsSentInPlainDecimal() throws {
        let forwarded = "Host: a\r\nContent-Length: 10\r\nX-Forwarded-For"
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nContent-Length: 010\r\nHost: a\r\n\r\n")?.contains(forwarded), true)
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nContent-Length: 0000000000000000000000010\r\nHost: a\r\n\r\n")?.contains(forwarded), true)
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n")?.contains("Host: a\r\nContent-Length: 0\r\nX-Forwarded-For"), true)
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")?.contains("Host: a\r\nContent-Length: 0\r\nX-Forwarded-For"), true)
        XCTAssertEqual(try rewrite("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10, 010\r\ncontent-length: 10\r\n\r\n")?.contains(forwarded), true)
    }

    /// The fields the proxy adds to a request for Host "a" from `peer` on plain-HTTP port 8080.
    func added(peer: String = "192.0.2.7") -> String {
        "X-Forwarded-For: \(peer)\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nX-Forwarded-Port: 8080\r\n\r\n"
    }

    func testUnderscoreNamesAreDroppedByDefault() throws {
        let request = "GET / HTTP/1.1\r\nHost: a\r\nX_Custom: 1\r\nAccept: */*\r\n_: 2\r\nX-Forwarded_For: 6.6.6.6\r\nuser_agent: x\r\n\r\n"
        XCTAssertEqual(try rewrite(request), "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n" + added())
        XCTAssertEqual(try rewrite(request, trusted: true), try rewrite(request), "trust does not matter")
    }

    func testUnderscoresInHeadersOnKeepsThem() throws {
        let fields = "Host: a\r\nX_Custom: 1\r\nAccept: */*\r\n_: 2\r\nuser_agent: x\r\n"
        XCTAssertEqual(try rewrite("GET / HTTP/1.1\r\n\(fields)\r\n", keepUnderscores: true), "GET / HTTP/1.1\r\n\(fields)" + added())
    }

    func testUnderscoresInHeadersOnStillDropsNamesThatFoldToProxyFields() throws {
        // Every managed name that has a "-" to disguise, in several spellings.
        let disguised = ["Content_Length", "TRANSFER_ENCODING", "Keep_Alive", "Proxy_Connection", "X_Forwarded_For",
                         "x-forwarded_for", "X_Forwarded_Proto", "X_FORWARDED_HOST", "x_forwarded-port"]
        for name in disguised {
            let request = "POST / HTTP/1.1\r\nHost: a\r\n\(name): 5\r\nContent-Length: 0\r\n\r\n"
            let out = try XCTUnwrap(rewrite(request, peer: "10.0.0.1", trusted: true, keepUnderscores: true))
            XCTAssertFalse(out.contains("\(name)"), "\(name) passed: \(out)")
        }
        // Near misses pass.
        let nearMisses = "Content_Lengths: 1\r\nX_Forwarded: 2\r\nproxy-connection_: 3\r\n"
        let out = try XCTUnwrap(rewrite("GET / HTTP/1.1\r\nHost: a\r\n\(nearMisses)\r\n", keepUnderscores: true))
        XCTAssertTrue(out.contains(nearMisses), out)
    }

    func testForwardedFollowsTheTrustRule() throws {
        let fields = "Host: a\r\nForwarded: for=198.51.100.1;proto=https\r\nAccept: */*\r\nforwarded: for=10.0.0.1\r\n"
        let request = "GET / HTTP/1.1\r\n\(fields)\r\n"
        XCTAssertEqual(try rewrite(request), "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n" + added())
        XCTAssertEqual(try rewrite(request, peer: "10.0.0.2", trusted: true), "GET / HTTP/1.1\r\n\(fields)" + added(peer: "10.0.0.2"))
    }

    func testConnectionCannotRemoveForwarded() throws {
        let out = try XCTUnwrap(rewrite("GET / HTTP/1.1\r\nHost: a\r\nConnection: Forwarded\r\nForwarded: for=x\r\n\r\n",
                                        peer: "10.0.0.2", trusted: true))
        XCTAssertTrue(out.contains("\r\nForwarded: for=x\r\n"), out)
    }

    func testOutputTooSmall() throws {
        let request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let full = try XCTUnwrap(rewrite(request))
        let size = full.utf8.count
        XCTAssertEqual(try rewrite(request, capacity: size), full)
        XCTAssertNil(try rewrite(request, capacity: size - 1))
        XCTAssertNil(try rewrite(request, capacity: 10))
        XCTAssertNil(try rewrite(request, capacity: 0))
    }
}
