import HTTP1
import HTTP2
import XCTest

final class ResponseMappingTests: XCTestCase {
    /// A stream whose request the server has seen, ready for a response.
    private func open(_ method: String = "GET") -> (Harness, TestClient, Int32) {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", method), (":scheme", "https"), (":path", "/"), (":authority", "example.com")])
        h.pump(client)
        return (h, client, id)
    }

    /// Lends the whole body and delivers everything the server sends while the bytes are valid.
    private func send(_ h: Harness, _ client: TestClient, _ id: Int32, _ body: [UInt8], trailers: String? = nil) {
        let t = trailers.map { Array($0.utf8) }
        body.withUnsafeBytes { b in
            (t ?? []).withUnsafeBytes { t in
                XCTAssertTrue(h.server.setBody(stream: id, bytes: b, endStream: true, trailers: trailers == nil ? nil : t))
                h.pump(client)
            }
        }
    }

    func testConnectionSpecificFieldsAreDroppedAndNamesLowercased() {
        let (h, client, id) = open()
        let upstream = UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n" +
                                        "Keep-Alive: timeout=5\r\nProxy-Connection: x\r\nTE: trailers\r\nUpgrade: foo\r\n" +
                                        "Transfer-Encoding: chunked\r\nX-Custom: Value With Caps\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n")
        XCTAssertTrue(upstream.submit(to: h.server, stream: id))
        let body = Array("hello".utf8)
        send(h, client, id, body)
        XCTAssertEqual(client.streams[id]?.status, "200")
        XCTAssertEqual(client.streams[id]?.fields.map { "\($0.0): \($0.1)" },
                       ["content-type: text/html", "x-custom: Value With Caps", "set-cookie: a=1", "set-cookie: b=2"])
        XCTAssertEqual(client.streams[id]?.body, body)
        XCTAssertEqual(client.streams[id]?.ended, true)
        XCTAssertTrue(h.seen.contains(.bodyTaken(id)))
        XCTAssertEqual(h.seen.last, .closed(id))
    }

    func testContentLengthGoesOutOnceInCanonicalForm() {
        let (h, client, id) = open()
        UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nX-A: 1\r\n\r\nhello").submit(to: h.server, stream: id)
        send(h, client, id, Array("hello".utf8))
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.fields.map { "\($0.0): \($0.1)" }, ["x-a: 1", "content-length: 5"])
        XCTAssertEqual(client.streams[id]?.body, Array("hello".utf8))
    }

    func testResponsesWithoutBodyEndOnTheHeaders() {
        for (method, response, fields) in [
            ("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", ["content-length: 1234"]),
            ("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n", ["x-a: 1"]),
            ("GET", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n", ["etag: \"x\"", "content-length: 10"]),
            ("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ["content-length: 0"]),
        ] {
            let (h, client, id) = open(method)
            let upstream = UpstreamResponse(response, method: method == "HEAD" ? .head : .get)
            XCTAssertTrue(upstream.submit(to: h.server, stream: id))
            h.pump(client)
            XCTAssertEqual(client.streams[id]?.fields.map { "\($0.0): \($0.1)" }, fields, response)
            XCTAssertEqual(client.streams[id]?.ended, true, response)
            XCTAssertFalse(client.framesReceived.contains { $0.type == T.data && $0.stream == id }, "\(method) \(response): no DATA")
            XCTAssertEqual(h.seen.last, .closed(id))
        }
    }

    func testInterimResponsesPrecedeTheFinalOne() {
        let (h, client, id) = open()
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n").submit(to: h.server, stream: id))
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").submit(to: h.server, stream: id))
        send(h, client, id, Array("ok".utf8))
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.blocks.first?.map { "\($0.0): \($0.1)" }, [":status: 103", "link: </s.css>; rel=preload"])
        XCTAssertEqual(client.streams[id]?.status, "200")
        XCTAssertEqual(client.streams[id]?.body, Array("ok".utf8))
    }

    func testSwitchingProtocolsCannotBeForwarded() {
        let (h, _, id) = open()
        XCTAssertFalse(UpstreamResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n").submit(to: h.server, stream: id))
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").submit(to: h.server, stream: id))
    }

    func testResponseTrailersFollowTheBody() {
        let (h, client, id) = open()
        UpstreamResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n").submit(to: h.server, stream: id)
        send(h, client, id, Array("data".utf8), trailers: "X-Checksum: 42 \r\nConnection: close\r\nContent-Length: 4\r\n\r\n")
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.body, Array("data".utf8))
        XCTAssertEqual(client.streams[id]?.blocks.last?.map { "\($0.0): \($0.1)" }, ["x-checksum: 42"])
        XCTAssertEqual(client.streams[id]?.ended, true)
        XCTAssertEqual(h.seen.last, .closed(id))
    }

    func testTrailersWithNothingLeftEndWithTheBody() {
        let (h, client, id) = open()
        UpstreamResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").submit(to: h.server, stream: id)
        send(h, client, id, Array("data".utf8), trailers: "Connection: close\r\n\r\n")
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.blocks.count, 1)
        XCTAssertEqual(client.streams[id]?.ended, true)
    }

    func testCannedResponseThroughTheSameAPI() {
        let (h, client, id) = open()
        let canned = CannedResponse.bytes(status: 502)
        let upstream = UpstreamResponse(String(decoding: canned, as: UTF8.self))
        upstream.submit(to: h.server, stream: id)
        send(h, client, id, upstream.body)
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.status, "502")
        XCTAssertEqual(client.streams[id]?.fields.map { "\($0.0): \($0.1)" }, ["content-type: text/plain", "content-length: 12"])
        XCTAssertEqual(client.streams[id]?.body, Array("bad gateway\n".utf8))
    }

    func testResetStreamReachesTheClient() {
        let (h, client, id) = open()
        UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n").submit(to: h.server, stream: id)
        XCTAssertTrue(h.server.resetStream(stream: id, code: .internalError))
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.closeCode, H2ErrorCode.internalError.rawValue)
        XCTAssertEqual(h.seen.last, .reset(id, .internalError))
        XCTAssertEqual(h.server.counters.streamErrors, 0, "a reset the data path asked for is not the client's fault")
    }

    func testResponseBeforeTheRequestBodyEndsStopsTheClient() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")],
                                body: Array("partial".utf8), more: true)
        h.pump(client)
        UpstreamResponse("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n").submit(to: h.server, stream: id)
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.status, "413")
        XCTAssertEqual(client.streams[id]?.closeCode, H2ErrorCode.noError.rawValue, "RST_STREAM NO_ERROR after the complete response")
        XCTAssertEqual(h.seen.last, .closed(id))
    }
}
