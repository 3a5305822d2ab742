import HTTP2
import XCTest

/// How a connection ends: gracefully with streams in flight, at once, or because the client left.
final class LifecycleTests: XCTestCase {
    let get: [(String, String)] = [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]

    func testGracefulGoAwayLetsStreamsInFlightFinish() {
        let h = Harness()
        let client = TestClient()
        let first = client.request(get)
        h.pump(client)
        h.server.goAwayGracefully()
        h.pump(client)
        XCTAssertEqual(client.goAway?.code, H2ErrorCode.noError.rawValue)
        XCTAssertEqual(client.goAway?.lastStream, first)
        XCTAssertTrue(h.server.wantsRead, "the stream in flight is not done")

        // A request sent before the client saw the GOAWAY is not processed: the client retries it elsewhere.
        h.receive(Raw.headers(first + 2, HPACK.block(get)))
        XCTAssertEqual(h.requests.map(\.stream), [first])

        UpstreamResponse("HTTP/1.1 204 No Content\r\n\r\n").submit(to: h.server, stream: first)
        h.pump(client)
        XCTAssertEqual(client.streams[first]?.status, "204")
        XCTAssertEqual(h.seen.last, .closed(first))
        XCTAssertFalse(h.server.wantsRead)
        XCTAssertFalse(h.server.wantsWrite)
        XCTAssertNil(h.server.termination, "a graceful stop is no error")
    }

    func testGoAwayNowEndsTheConnection() {
        let h = Harness()
        let client = TestClient()
        client.request(get)
        h.pump(client)
        h.server.goAway(code: .noError)
        h.pump(client)
        XCTAssertEqual(client.goAway?.code, H2ErrorCode.noError.rawValue)
        XCTAssertFalse(h.server.wantsRead)
        XCTAssertFalse(h.server.wantsWrite)
        XCTAssertEqual(h.server.termination?.description, "GOAWAY NO_ERROR: closed by the server")
        XCTAssertEqual(h.receive(Raw.ping()), .fatal)
    }

    func testClientGoAwayEndsTheConnectionOnceStreamsAreDone() {
        let h = Harness()
        let client = TestClient()
        let id = client.request(get)
        h.pump(client)
        // The last stream a client names is the server's (even) one it acted on: none.
        h.receive(Raw.frame(T.goAway, 0, 0, Raw.be32(0) + Raw.be32(0)))
        XCTAssertTrue(h.server.wantsRead, "the stream in flight is still answered")
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").submit(to: h.server, stream: id))
        client.input(h.output())
        XCTAssertEqual(client.streams[id]?.status, "200")
        XCTAssertFalse(h.server.wantsRead)
        XCTAssertFalse(h.server.wantsWrite)
    }

    func testProtocolErrorShowsOnceItsGoAwayIsOut() {
        let h = Harness()
        XCTAssertEqual(h.receive(Raw.start + Raw.frame(T.ping, 0, 0, [1, 2, 3])), .consumed(Raw.start.count + 12))
        XCTAssertNil(h.server.termination)
        _ = h.output()
        XCTAssertEqual(h.server.termination?.code, .frameSizeError)
        XCTAssertEqual(h.server.termination?.limit, nil)
        XCTAssertFalse(h.server.wantsRead)
        XCTAssertFalse(h.server.wantsWrite)
    }
}
