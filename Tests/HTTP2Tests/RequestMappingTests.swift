import CNGHTTP2
import HTTP1
import HTTP2
import XCTest

final class RequestMappingTests: XCTestCase {
    let authority: [(String, String)] = [(":scheme", "https"), (":authority", "example.com")]

    func testGetMapsToExactHead() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "GET"), (":scheme", "https"), (":path", "/search?q=1"),
                                 (":authority", "example.com"), ("user-agent", "t/1"), ("accept", "*/*")])
        h.pump(client)
        XCTAssertEqual(h.seen, [.request(stream: id, head: "GET /search?q=1 HTTP/1.1\r\nHost: example.com\r\nuser-agent: t/1\r\naccept: */*\r\n\r\n",
                                         hasBody: false, chunked: false)])
        XCTAssertNotNil(h.parsedHeads[id])
    }

    func testRequestsArrivingByteByByte() {
        let h = Harness()
        let client = TestClient()
        let a = client.request([(":method", "POST"), (":path", "/a")] + authority + [("cookie", "x=1"), ("cookie", "y=2")],
                               body: Array("body".utf8))
        let b = client.request([(":method", "GET"), (":path", "/b")] + authority + [("x-long", String(repeating: "v", count: 300))])
        for byte in client.output() { h.receive([byte]) }
        XCTAssertEqual(h.requests.map(\.head), [
            "POST /a HTTP/1.1\r\nHost: example.com\r\ncookie: x=1; y=2\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /b HTTP/1.1\r\nHost: example.com\r\nx-long: \(String(repeating: "v", count: 300))\r\n\r\n",
        ])
        XCTAssertEqual(h.requests.map(\.stream), [a, b])
        XCTAssertEqual(h.body(a).bytes, Array("body".utf8))
    }

    func testCookiesAreJoinedIntoOneLine() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "GET"), (":path", "/")] + authority +
                                [("cookie", "a=1"), ("x-a", "1"), ("cookie", "b=2"), ("cookie", ""), ("x-b", "2"), ("cookie", "c=3")])
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "GET / HTTP/1.1\r\nHost: example.com\r\nx-a: 1\r\nx-b: 2\r\ncookie: a=1; b=2; c=3\r\n\r\n")
        XCTAssertEqual(h.requests.first?.stream, id)
        XCTAssertNotNil(h.parsedHeads[id])
    }

    func testCookieCrumbsCountAsOneField() {
        var settings = H2Settings()
        settings.maxHeaderFields = 3
        let h = Harness(settings)
        let client = TestClient()
        client.request([(":method", "GET"), (":path", "/")] + authority + [("x-a", "1"), ("x-b", "2")] +
                       (0..<20).map { ("cookie", "c\($0)=\($0)") })
        h.pump(client)
        XCTAssertEqual(h.requests.count, 1)
        XCTAssertEqual(h.requests.first?.head.hasSuffix("cookie: c0=0; c1=1; c2=2; c3=3; c4=4; c5=5; c6=6; c7=7; c8=8; c9=9; c10=10; c11=11; " +
                                                         "c12=12; c13=13; c14=14; c15=15; c16=16; c17=17; c18=18; c19=19\r\n\r\n"), true)
    }

    func testTooManyFieldsAreAnswered431() {
        var settings = H2Settings()
        settings.maxHeaderFields = 3
        let h = Harness(settings)
        let client = TestClient()
        let id = client.request([(":method", "GET"), (":path", "/")] + authority + [("x-a", "1"), ("x-b", "2"), ("x-c", "3"), ("x-d", "4")])
        h.pump(client)
        XCTAssertTrue(h.requests.isEmpty)
        XCTAssertEqual(client.streams[id]?.status, "431")
    }

    func testSingleCookieStaysInPlace() {
        let h = Harness()
        let client = TestClient()
        client.request([(":method", "GET"), (":path", "/")] + authority + [("cookie", "a=1"), ("x-a", "1")])
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "GET / HTTP/1.1\r\nHost: example.com\r\ncookie: a=1\r\nx-a: 1\r\n\r\n")
    }

    func testHostFieldStandsInForMissingAuthority() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "GET"), (":scheme", "http"), (":path", "/p"), ("x-a", "1"),
                                 ("host", "h.example:8080"), ("cookie", "a"), ("cookie", "b")])
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "GET /p HTTP/1.1\r\nHost: h.example:8080\r\nx-a: 1\r\ncookie: a; b\r\n\r\n")
        XCTAssertNotNil(h.parsedHeads[id])
    }

    func testHostEqualToAuthorityIsDropped() {
        let h = Harness()
        let client = TestClient()
        client.request([(":method", "GET"), (":path", "/")] + authority + [("host", "Example.COM"), ("x-a", "1")])
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "GET / HTTP/1.1\r\nHost: example.com\r\nx-a: 1\r\n\r\n")
    }

    func testTrailersTokenIsDroppedFromTheHead() {
        let h = Harness()
        let client = TestClient()
        client.request([(":method", "GET"), (":path", "/")] + authority + [("te", "trailers")])
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    }

    func testOptionsAsterisk() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "OPTIONS"), (":path", "*")] + authority)
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n")
        XCTAssertNotNil(h.parsedHeads[id])
    }

    func testConnectMapsToAuthorityFormThatTheHTTP1ParserRefuses() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "CONNECT"), (":authority", "example.com:443")])
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        XCTAssertNil(h.parsedHeads[id], "the data path answers CONNECT with 400, as over HTTP/1.1")
    }

    func testBodyWithContentLength() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "POST"), (":path", "/form")] + authority +
                                [("content-type", "text/plain"), ("content-length", "0005")], body: Array("hello".utf8))
        h.pump(client)
        XCTAssertEqual(h.seen.first, .request(stream: id, head: "POST /form HTTP/1.1\r\nHost: example.com\r\ncontent-type: text/plain\r\nContent-Length: 5\r\n\r\n",
                                              hasBody: true, chunked: false))
        XCTAssertEqual(h.body(id).bytes, Array("hello".utf8))
        XCTAssertTrue(h.body(id).ended)
        guard case .contentLength(5)? = h.parsedHeads[id]?.framing else { return XCTFail("framing") }
    }

    func testBodyWithoutContentLengthIsChunkFramed() throws {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "PUT"), (":path", "/up")] + authority, body: Array("first".utf8), more: true)
        h.pump(client)
        client.send(stream: id, Array("second".utf8), eof: true)
        h.pump(client)
        XCTAssertEqual(h.requests.first?.head, "PUT /up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n")
        guard case .chunked? = h.parsedHeads[id]?.framing else { return XCTFail("framing") }
        let framed = try chunkFrame(h, id, trailers: nil)
        XCTAssertEqual(String(decoding: framed, as: UTF8.self), "5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n")
        try assertChunkedBodyParses(framed)
    }

    func testRequestTrailersEndAChunkedBody() throws {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "POST"), (":path", "/")] + authority + [("te", "trailers")], body: Array("abc".utf8), more: true)
        h.pump(client)
        client.submitTrailers(stream: id, [("x-checksum", "900150983cd24fb0"), ("content-length", "3"), ("x-b", "1")])
        h.pump(client)
        XCTAssertTrue(h.seen.contains(.trailers(stream: id, lines: "x-checksum: 900150983cd24fb0\r\nx-b: 1\r\n")))
        let framed = try chunkFrame(h, id, trailers: "x-checksum: 900150983cd24fb0\r\nx-b: 1\r\n")
        XCTAssertEqual(String(decoding: framed, as: UTF8.self), "3\r\nabc\r\n0\r\nx-checksum: 900150983cd24fb0\r\nx-b: 1\r\n\r\n")
        try assertChunkedBodyParses(framed)
    }

    func testHundredConcurrentStreams() {
        let h = Harness()
        let client = TestClient()
        var ids: [Int32] = []
        for i in 0..<100 {
            ids.append(client.request([(":method", "POST"), (":path", "/s/\(i)")] + authority, body: [], more: true))
        }
        h.pump(client)
        XCTAssertEqual(h.requests.map(\.stream), ids)
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(h.requests[i].head, "POST /s/\(i) HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n")
            client.send(stream: id, Array("body \(i)".utf8), eof: true)
        }
        h.pump(client)
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(h.body(id).bytes, Array("body \(i)".utf8))
            XCTAssertTrue(h.body(id).ended)
        }
        XCTAssertFalse(h.seen.contains { if case .reset = $0 { return true } else { return false } })
        for id in ids { UpstreamResponse("HTTP/1.1 204 No Content\r\n\r\n").submit(to: h.server, stream: id) }
        h.pump(client)
        XCTAssertEqual(ids.map { client.streams[$0]?.status }, Array(repeating: "204", count: 100))
        XCTAssertEqual(h.seen.filter { if case .closed = $0 { return true } else { return false } }.count, 100)
    }

    func testExpectContinueIsForwardedAndAnsweredWithAnInterimResponse() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "PUT"), (":path", "/big")] + authority +
                                [("content-length", "3"), ("expect", "100-continue")], body: [], more: true)
        h.pump(client)
        XCTAssertNotNil(h.parsedHeads[id], "the HTTP/1.1 form parses, Expect included")
        XCTAssertTrue(h.requests.first { $0.stream == id }?.head.contains("expect: 100-continue\r\n") == true)
        XCTAssertTrue(h.server.submitInterim(stream: id, status: 100))
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.blocks.first?.first?.1, "100")
        client.send(stream: id, Array("abc".utf8), eof: true)
        h.pump(client)
        XCTAssertEqual(h.body(id).bytes, Array("abc".utf8))
    }

    /// The body of `stream` as the data path would send it upstream.
    private func chunkFrame(_ h: Harness, _ stream: Int32, trailers: String?) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        for case .data(stream, let bytes, let end) in h.seen {
            if !bytes.isEmpty {
                let n = try XCTUnwrap(buffer.withUnsafeMutableBytes { ChunkFraming.writeChunkHeader(size: bytes.count, into: $0) })
                out += buffer[0..<n] + bytes + Array(ChunkFraming.chunkEnd)
            }
            if end { XCTAssertNil(trailers) }
        }
        let t = Array((trailers ?? "").utf8)
        var last = [UInt8](repeating: 0, count: t.count + 5)
        let n = try XCTUnwrap(last.withUnsafeMutableBytes { out in t.withUnsafeBytes { ChunkFraming.writeLastChunk(trailers: $0, into: out) } })
        return out + last[0..<n]
    }

    private func assertChunkedBodyParses(_ framed: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        var decoder = ChunkedDecoder()
        let n = try framed.withUnsafeBytes { try decoder.consume($0) }
        XCTAssertEqual(n, framed.count, file: file, line: line)
        XCTAssertTrue(decoder.isComplete, file: file, line: line)
    }
}
