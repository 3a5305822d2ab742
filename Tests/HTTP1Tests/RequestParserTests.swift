import HTTP1
import XCTest

final class RequestParserTests: XCTestCase {
    // MARK: accepted heads

    func testSimpleGet() throws {
        let p = try requireRequest("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */*  \r\n\r\n")
        XCTAssertEqual(p.head.method, .get)
        XCTAssertEqual(p.text(0, p.head.methodEnd), "GET")
        XCTAssertEqual(p.text(p.head.targetStart, p.head.targetEnd), "/index.html?q=1")
        XCTAssertEqual(p.head.version, .http11)
        XCTAssertEqual(p.head.headLength, p.bytes.count)
        XCTAssertEqual(p.head.framing, BodyFraming.none)
        XCTAssertEqual(p.text(p.head.hostStart, p.head.hostEnd), "example.com")
        XCTAssertEqual(p.headers.count, 2)
        XCTAssertEqual(p.name(1), "Accept")
        XCTAssertEqual(p.value(1), "*/*", "OWS is trimmed around values")
        XCTAssertEqual(p.headers[0].known, .host)
        XCTAssertEqual(p.headers[1].known, .other)
    }

    func testMethods() throws {
        let cases: [(String, HTTP1.Method, Bool)] = [
            ("GET", .get, true), ("HEAD", .head, true), ("POST", .post, false), ("PUT", .put, true),
            ("DELETE", .delete, true), ("OPTIONS", .options, true), ("PATCH", .patch, false),
            ("TRACE", .trace, true), ("PROPFIND", .other, false), ("get", .other, false),
        ]
        for (name, method, idempotent) in cases {
            let p = try requireRequest("\(name) / HTTP/1.1\r\nHost: a\r\n\r\n")
            XCTAssertEqual(p.head.method, method, name)
            XCTAssertEqual(p.head.method.isIdempotent, idempotent, name)
            XCTAssertEqual(p.head.methodEnd, name.utf8.count)
        }
    }

    func testKeepAliveRulesByVersion() throws {
        XCTAssertTrue(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\n\r\n").head.keepAlive)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").head.keepAlive)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n").head.keepAlive)
        XCTAssertTrue(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n").head.keepAlive)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.0\r\n\r\n").head.keepAlive)
        XCTAssertTrue(try requireRequest("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keepAlive)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").head.keepAlive)
        let p = try requireRequest("GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(p.head.version, .http10)
        XCTAssertEqual(p.head.hostStart, -1)
        XCTAssertEqual(p.head.hostEnd, -1)
    }

    func testPipelinedHeadsInOneBuffer() throws {
        let text = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: c\r\n\r\n"
        let bytes = Array(text.utf8)
        let table = HeaderTable()
        var offset = 0
        var targets: [String] = []
        var framings: [BodyFraming] = []
        try bytes.withUnsafeBytes { all in
            while offset < all.count {
                let buffer = UnsafeRawBufferPointer(rebasing: all[offset...])
                let end = try XCTUnwrap(HeadScanner.headEnd(in: buffer, searchFrom: 0))
                let head = try RequestParser.parse(buffer, headLength: end, headers: table)
                targets.append(buffer[head.targetStart..<head.targetEnd].map { Character(UnicodeScalar($0)) }.map(String.init).joined())
                framings.append(head.framing)
                offset += end
                if case .contentLength(let n) = head.framing { offset += n }
            }
        }
        XCTAssertEqual(targets, ["/a", "/b", "/c"])
        XCTAssertEqual(framings, [.none, .contentLength(3), .none])
    }

    func testAbsoluteForm() throws {
        let p = try requireRequest("GET http://example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
        XCTAssertEqual(p.text(p.head.targetStart, p.head.targetEnd), "http://example.com:8080/x?y")
        _ = try requireRequest("GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
        assertRequestRejected("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400)
        assertRequestRejected("GET ftp://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", 400)
    }

    func testOptionsAsterisk() throws {
        let p = try requireRequest("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(p.head.method, .options)
        XCTAssertEqual(p.text(p.head.targetStart, p.head.targetEnd), "*")
    }

    func testContentLengthFraming() throws {
        XCTAssertEqual(try requireRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").head.framing, .contentLength(0))
        XCTAssertEqual(try requireRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n").head.framing, .contentLength(42))
        XCTAssertEqual(try requireRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n").head.framing,
                       .contentLength(Int.max))
        XCTAssertEqual(try requireRequest("POST / HTTP/1.0\r\nContent-Length: 007\r\n\r\n").head.framing, .contentLength(7))
    }

    func testIdenticalContentLengthsAreMerged() throws {
        XCTAssertEqual(try requireRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").head.framing,
                       .contentLength(5))
        XCTAssertEqual(try requireRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5,5\r\n\r\n").head.framing,
                       .contentLength(5))
    }

    func testChunkedFraming() throws {
        let p = try requireRequest("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n")
        XCTAssertEqual(p.head.framing, .chunked)
        XCTAssertFalse(p.headers[1].hopByHop, "Transfer-Encoding is forwarded with the verbatim chunked body")
    }

    func testHostForms() throws {
        for host in ["example.com", "example.com:8080", "127.0.0.1:80", "[::1]", "[::1]:8080", "xn--bcher-kva.example",
                     "a%20b", "", "example.com:", "EXAMPLE.com"] {
            let p = try requireRequest("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            XCTAssertEqual(p.text(p.head.hostStart, p.head.hostEnd), host)
        }
    }

    func testExpectations() throws {
        // 100-continue (any case) is honoured by forwarding it; other expectations get 417.
        _ = try requireRequest("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
        assertRequestRejected("PUT / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n", 417)
        // HTTP/1.0 expectations are ignored (RFC 9110 10.1.1).
        _ = try requireRequest("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        _ = try requireRequest("PUT / HTTP/1.0\r\nExpect: something-else\r\n\r\n")
    }

    func testWebSocketUpgrade() throws {
        let p = try requireRequest("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n")
        XCTAssertTrue(p.head.upgradeWebSocket)
        XCTAssertEqual(p.isHopByHop("Upgrade"), true)
        XCTAssertEqual(p.isHopByHop("Connection"), true)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").head.upgradeWebSocket)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n").head.upgradeWebSocket)
        XCTAssertFalse(try requireRequest("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n").head.upgradeWebSocket)
        XCTAssertTrue(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo/2, WebSocket\r\nConnection: upgrade\r\n\r\n").head.upgradeWebSocket)
    }

    func testHopByHopMarking() throws {
        let p = try requireRequest("""
            GET / HTTP/1.1\r
            Host: a\r
            Keep-Alive: timeout=5\r
            Proxy-Connection: keep-alive\r
            TE: trailers\r
            Upgrade: h2c\r
            Trailer: X-Checksum\r
            X-Secret: 1\r
            x-secret: 2\r
            X-Other: 3\r
            Connection: x-SECRET, , host, Content-Length, transfer-encoding, x-forwarded-for, X-Forwarded-Proto, x-forwarded-host, x-forwarded-port\r
            X-Forwarded-For: 1.2.3.4\r
            X-Forwarded-Proto: https\r
            X-Forwarded-Host: h\r
            X-Forwarded-Port: 1\r
            Content-Length: 0\r
            \r\n
            """)
        var hop: [String] = []
        for i in 0..<p.headers.count where p.headers[i].hopByHop { hop.append(p.name(i)) }
        XCTAssertEqual(hop, ["Keep-Alive", "Proxy-Connection", "TE", "Upgrade", "X-Secret", "x-secret", "Connection"])
        XCTAssertEqual(p.headers[p.index(of: "Trailer")!].known, .trailer)
        XCTAssertEqual(p.headers[p.index(of: "X-Forwarded-Port")!].known, .xForwardedPort)
    }

    /// The name scan goes a word at a time over letters, digits and "-": every byte value at
    /// every offset of a name must end up where a byte-by-byte scan puts it.
    func testEveryByteAtEveryOffsetOfAFieldName() {
        let tchars = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for k in 0..<20 {
            for v in 0...255 {
                let byte = UInt8(v)
                let before = [UInt8](repeating: 0x61, count: k), after = [UInt8](repeating: 0x42, count: 19 - k)
                let name = before + [byte] + after
                let bytes = Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8) + name + Array(": v\r\n\r\n".utf8)
                let what = "byte \(v) at offset \(k)"
                switch parseRequest(bytes) {
                case .success(let p):
                    if tchars.contains(byte) {
                        XCTAssertEqual(p.headers.count, 2, what)
                        XCTAssertEqual(Array(p.name(1).utf8), name, what)
                        XCTAssertEqual(p.value(1), "v", what)
                        XCTAssertEqual(p.headers[1].hasUnderscore, byte == 0x5F, what)
                    } else {
                        // Only a colon ends a name early: the rest of the line is the value.
                        XCTAssertEqual(byte, 0x3A, what)
                        XCTAssertEqual(Array(p.name(1).utf8), before, what)
                        XCTAssertEqual(Array(p.value(1).utf8), after + Array(": v".utf8), what)
                    }
                case .failure(let e):
                    XCTAssertFalse(tchars.contains(byte), "\(what): \(e.reason)")
                    XCTAssertTrue(byte != 0x3A || k == 0, what)
                }
            }
        }
    }

    func testUnderscoresAndForwardedAreMarked() throws {
        let p = try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nX_A: 1\r\n_: 2\r\nX-B: 3\r\nFORWARDED: for=x\r\nConnection: forwarded\r\n\r\n")
        XCTAssertEqual((0..<p.headers.count).map { p.headers[$0].hasUnderscore }, [false, true, true, false, false, false])
        XCTAssertEqual(p.headers[4].known, .forwarded)
        XCTAssertEqual(p.isHopByHop("Forwarded"), false, "protected like X-Forwarded-*")
        XCTAssertEqual(try requireRequest("GET / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\n").head.framing, BodyFraming.none,
                       "Content_Length is not Content-Length")
    }

    func testLeadingEmptyLinesCanBeSkipped() throws {
        let bytes = Array("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        let skip = bytes.withUnsafeBytes { HeadScanner.leadingEmptyLines(in: $0) }
        XCTAssertEqual(skip, 4)
        XCTAssertEqual(try parseRequest(Array(bytes[skip...])).get().head.method, .get)
    }

    func testObsTextAndTabInValues() throws {
        var bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf".utf8)
        bytes += [0xC3, 0xA9, 0x09, 0x41, 0x09]
        bytes += Array("\r\n\r\n".utf8)
        let p = try parseRequest(bytes).get()
        XCTAssertEqual(p.headers[1].valueEnd - p.headers[1].valueStart, 7, "inner HTAB kept, trailing HTAB trimmed")
    }

    func testHeaderTableIsReused() throws {
        let table = HeaderTable(capacity: 4)
        let a = Array("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".utf8)
        let b = Array("GET / HTTP/1.1\r\nHost: b\r\n\r\n".utf8)
        _ = try a.withUnsafeBytes { try RequestParser.parse($0, headLength: a.count, headers: table) }
        XCTAssertEqual(table.count, 4)
        _ = try b.withUnsafeBytes { try RequestParser.parse($0, headLength: b.count, headers: table) }
        XCTAssertEqual(table.count, 1)
    }
}
