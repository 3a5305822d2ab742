import CNGHTTP2
import HTTP2
import XCTest

final class FlowControlTests: XCTestCase {
    let post: [(String, String)] = [(":method", "POST"), (":scheme", "https"), (":path", "/up"), (":authority", "example.com")]

    /// WINDOW_UPDATE frames the server sent, by stream: the increments.
    private func windowUpdates(_ frames: [Frame]) -> [Int32: [UInt32]] {
        var out: [Int32: [UInt32]] = [:]
        for f in frames where f.type == T.windowUpdate { out[f.stream, default: []].append(f.errorCode) }
        return out
    }

    func testRequestWindowReopensOnlyAfterConsumed() {
        let h = Harness()
        h.autoConsume = false
        let client = TestClient()
        let id = client.request(post, body: [UInt8](repeating: 0x61, count: 200_000))
        // Client and server exchange SETTINGS; the client sends what the stream window allows.
        for _ in 0..<4 {
            h.receive(client.output())
            let frames = Frame.parse(h.output())!
            XCTAssertNil(windowUpdates(frames)[id], "no stream WINDOW_UPDATE before consumed")
            client.input(frames.flatMap { Raw.frame($0.type, $0.flags, $0.stream, $0.payload) })
        }
        let received = h.body(id).bytes.count
        XCTAssertEqual(received, 65_536, "exactly one stream window")
        XCTAssertFalse(h.body(id).ended)

        h.server.consumed(stream: id, bytes: 20_000)
        let early = h.output()
        XCTAssertNil(windowUpdates(Frame.parse(early)!)[id], "nghttp2 waits for half the window")
        client.input(early)
        h.server.consumed(stream: id, bytes: received - 20_000)
        let late = h.output()
        XCTAssertEqual(windowUpdates(Frame.parse(late)!)[id], [UInt32(received)])
        client.input(late)

        h.autoConsume = true
        h.pump(client)
        XCTAssertEqual(h.body(id).bytes.count, 200_000, "the rest came once the window reopened")
        XCTAssertTrue(h.body(id).ended)
    }

    func testConnectionWindowIsLargeEnoughForSeveralStreams() {
        let h = Harness()
        h.autoConsume = false
        let client = TestClient()
        let ids = (0..<8).map { _ in client.request(post, body: [UInt8](repeating: 0x61, count: 65_536)) }
        h.pump(client)
        for id in ids { XCTAssertEqual(h.body(id).bytes.count, 65_536) }
    }

    func testResponseBodyStreamsUnderASmallClientWindow() {
        let h = Harness()
        let client = TestClient(settings: [(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000)])
        let id = client.request([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")])
        h.pump(client)
        UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n").submit(to: h.server, stream: id)
        let body = (0..<5000).map { UInt8(truncatingIfNeeded: $0) }
        body.withUnsafeBytes { b in
            XCTAssertTrue(h.server.setBody(stream: id, bytes: b, endStream: true))
            let first = h.output()
            XCTAssertEqual(Frame.parse(first)!.filter { $0.type == T.data }.map(\.payload.count).reduce(0, +), 1000,
                           "only the client's window")
            XCTAssertTrue(h.server.isBlockedOnPeerWindow)
            XCTAssertFalse(h.seen.contains(.bodyTaken(id)))
            // The client (nghttp2 acknowledges half a window at a time) opens it bit by bit.
            client.input(first)
            h.pump(client)
        }
        XCTAssertTrue(client.streams[id]?.body == body)
        XCTAssertFalse(h.server.isBlockedOnPeerWindow)
        XCTAssertEqual(h.seen.filter { $0 == .bodyTaken(id) }.count, 1)
        XCTAssertGreaterThanOrEqual(client.framesReceived.filter { $0.type == T.data }.count, 5, "one window at a time")
    }

    func testBodyLentInPiecesAndDeferredBetweenThem() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")])
        h.pump(client)
        UpstreamResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").submit(to: h.server, stream: id)
        h.pump(client)
        XCTAssertFalse(h.server.hasOutput, "nothing to send until the data path lends bytes")
        for (i, piece) in ["one ", "two ", "three"].enumerated() {
            Array(piece.utf8).withUnsafeBytes { b in
                XCTAssertTrue(h.server.setBody(stream: id, bytes: b, endStream: i == 2))
                h.pump(client)
            }
            XCTAssertEqual(h.seen.filter { $0 == .bodyTaken(id) }.count, i + 1)
        }
        XCTAssertEqual(client.streams[id]?.body, Array("one two three".utf8))
        XCTAssertEqual(client.streams[id]?.ended, true)
        XCTAssertEqual(h.seen.last, .closed(id))
    }

    func testUnconsumedBytesOfAResetStreamGoBackToTheConnection() {
        let h = Harness()
        h.autoConsume = false
        let client = TestClient()
        let first = client.request(post, body: [UInt8](repeating: 0x61, count: 60_000), more: true)
        h.pump(client)
        XCTAssertEqual(h.body(first).bytes.count, 60_000)
        XCTAssertTrue(h.server.resetStream(stream: first, code: .cancel))
        let frames = Frame.parse(h.output())!
        XCTAssertEqual(frames.first { $0.type == T.rst }?.errorCode, H2ErrorCode.cancel.rawValue)
        XCTAssertEqual(h.seen.last, .reset(first, .cancel))
        h.server.consumed(stream: first, bytes: 60_000)  // ignored: the stream is gone
        _ = h.output()
        XCTAssertEqual(h.server.counters.streamErrors, 0)
    }
}
