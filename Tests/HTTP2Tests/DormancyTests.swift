import CNGHTTP2
import HTTP2
import XCTest

/// Idle connections give their engine up (`sleep`) and get a new one in the same protocol state
/// when the client sends again: the client (an nghttp2 session, which validates every frame) must
/// not be able to tell.
final class DormancyTests: XCTestCase {
    /// nghttp2's client indexes these fields in its HPACK table, as browsers and curl do.
    let get: [(String, String)] = [(":method", "GET"), (":scheme", "https"), (":path", "/a"), (":authority", "example.com"),
                                   ("user-agent", "dormancy-test/1.0"), ("x-user", "alice")]

    /// Answers `id` with a 200 and `body`, and moves everything to the client.
    private func respond(_ h: Harness, _ client: TestClient, _ id: Int32, body: [UInt8] = Array("hello".utf8)) {
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nX-Served: yes\r\n\r\n").submit(to: h.server, stream: id))
        body.withUnsafeBytes { b in
            XCTAssertTrue(h.server.setBody(stream: id, bytes: b, endStream: true))
            h.pump(client)
        }
    }

    /// A connection on which one GET was answered.
    private func answered() -> (Harness, TestClient, Int32) {
        let h = Harness()
        let client = TestClient()
        let id = client.request(get)
        h.pump(client)
        respond(h, client, id)
        return (h, client, id)
    }

    /// SETTINGS frames the client received carrying HEADER_TABLE_SIZE, with their values.
    private func tableSizes(_ frames: [Frame]) -> [UInt32] {
        frames.filter { $0.type == T.settings && $0.flags & T.ack == 0 }.flatMap { f in
            stride(from: 0, to: f.payload.count, by: 6).compactMap { i -> UInt32? in
                let p = f.payload
                guard p[i] == 0 && p[i + 1] == 1 else { return nil }
                return UInt32(p[i + 2]) << 24 | UInt32(p[i + 3]) << 16 | UInt32(p[i + 4]) << 8 | UInt32(p[i + 5])
            }
        }
    }

    func testIdleConnectionSleepsAndWakesWithItsHPACKStateInStep() {
        let h = Harness()
        let client = TestClient()
        let first = client.request(get)
        h.pump(client)
        respond(h, client, first)
        XCTAssertEqual(client.streams[first]?.status, "200")

        // The client's table holds its fields: the server asks it to empty it before sleeping.
        guard case .notYet = h.server.sleep() else { return XCTFail("slept with the client's HPACK entries") }
        let lowered = h.frames()
        XCTAssertEqual(tableSizes(lowered), [0])
        client.input(lowered.flatMap { Raw.frame($0.type, $0.flags, $0.stream, $0.payload) })
        XCTAssertTrue(h.sleepAndWake(client))

        // Woken: the client's next block opens with the table size update it owes; the server
        // offers the full table again, and later requests are compressed against it.
        for path in ["/b", "/c", "/d"] {
            var fields = get
            fields[2] = (":path", path)
            let id = client.request(fields)
            h.pump(client)
            XCTAssertEqual(h.requests.last?.stream, id)
            XCTAssertTrue(h.requests.last!.head.hasPrefix("GET \(path) HTTP/1.1\r\n"), h.requests.last!.head)
            XCTAssertTrue(h.requests.last!.head.contains("x-user: alice\r\n"), h.requests.last!.head)
            respond(h, client, id)
            XCTAssertEqual(client.streams[id]?.status, "200")
            XCTAssertEqual(client.streams[id]?.fields.first { $0.0 == "x-served" }?.1, "yes")
        }
        XCTAssertNil(h.server.termination)
        // Asleep again: and woken by another request.
        XCTAssertTrue(h.sleepAndWake(client))
        let last = client.request(get)
        h.pump(client)
        respond(h, client, last, body: Array("again".utf8))
        XCTAssertEqual(client.streams[last]?.body, Array("again".utf8))
        XCTAssertNil(h.server.termination)
    }

    func testClientSettingsAndWindowsSurviveSleep() {
        let h = Harness()
        let client = TestClient(settings: [(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000), (NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 20_000)])
        let post: [(String, String)] = [(":method", "POST"), (":scheme", "https"), (":path", "/up"), (":authority", "example.com")]
        // Request body credit not yet returned is returned before sleeping.
        let upload = client.request(post, body: [UInt8](repeating: 0x61, count: 30_000))
        h.pump(client)
        XCTAssertEqual(h.body(upload).bytes.count, 30_000)
        respond(h, client, upload, body: [UInt8](repeating: 0x62, count: 3000))
        XCTAssertEqual(client.streams[upload]?.body.count, 3000)
        guard let dormant = h.sleep(client) else { return XCTFail("did not sleep") }
        XCTAssertTrue(h.wake(dormant))

        // The client's stream window (1000) still holds after waking.
        let id = client.request(get)
        h.pump(client)
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n").submit(to: h.server, stream: id))
        let body = (0..<5000).map { UInt8(truncatingIfNeeded: $0) }
        body.withUnsafeBytes { b in
            XCTAssertTrue(h.server.setBody(stream: id, bytes: b, endStream: true))
            let out = h.output()
            XCTAssertEqual(Frame.parse(out)!.filter { $0.type == T.data }.map(\.payload.count).reduce(0, +), 1000)
            client.input(out)
            h.pump(client)
        }
        XCTAssertEqual(client.streams[id]?.body, body)

        // A large upload after waking: the connection window is where the client thinks it is.
        let big = client.request(post, body: [UInt8](repeating: 0x63, count: 1_500_000))
        h.pump(client, rounds: 1000)
        XCTAssertEqual(h.body(big).bytes.count, 1_500_000)
        XCTAssertTrue(h.body(big).ended)
        XCTAssertNil(h.server.termination)
    }

    func testConnectionWindowCreditSurvivesSleep() {
        let h = Harness()
        let client = TestClient()
        // The client gives the server 4 MiB of connection window.
        XCTAssertEqual(nghttp2_session_set_local_window_size(client.session, 0, 0, 4 << 20), 0)
        let id = client.request(get)
        h.pump(client)
        respond(h, client, id)
        XCTAssertTrue(h.sleepAndWake(client))
        // Three streams of 1 MiB at once fit the connection window only with the credit.
        let body = [UInt8](repeating: 0x64, count: 1 << 20)
        var ids: [Int32] = []
        for _ in 0..<3 { ids.append(client.request(get)) }
        h.pump(client)
        body.withUnsafeBytes { b in
            for id in ids {
                XCTAssertTrue(UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: \(1 << 20)\r\n\r\n").submit(to: h.server, stream: id))
                XCTAssertTrue(h.server.setBody(stream: id, bytes: b, endStream: true))
            }
            h.pump(client, rounds: 1000)
        }
        for id in ids { XCTAssertEqual(client.streams[id]?.body.count, 1 << 20) }
    }

    func testStreamIDsAtOrBelowTheLastStayUsedAfterWaking() {
        for slept in [false, true] {
            let (h, client, id) = answered()
            if slept { XCTAssertTrue(h.sleepAndWake(client)) }
            // A raw HEADERS reusing stream 1, which the client ended, never becomes a request: the
            // connection ends with STREAM_CLOSED (RFC 9113 §5.1), asleep in between or not.
            h.receive(Raw.headers(id, [0x20] + HPACK.block(HPACK.get)))
            XCTAssertEqual(h.requests.map(\.stream), [id], "slept: \(slept)")
            let closed = h.frames().first { $0.type == T.goAway }
            XCTAssertEqual(closed.map { H2ErrorCode(rawValue: $0.errorCode) }, .streamClosed, "slept: \(slept)")
        }
        for slept in [false, true] {
            let (h, client, id) = answered()
            if slept { XCTAssertTrue(h.sleepAndWake(client)) }
            // The next stream opens normally, and a GOAWAY names it as the last.
            h.receive(Raw.headers(id + 2, [0x20] + HPACK.block(HPACK.get)))
            XCTAssertEqual(h.requests.map(\.stream), [id, id + 2], "slept: \(slept)")
            h.server.goAwayGracefully()
            let goAway = h.frames().first { $0.type == T.goAway }
            XCTAssertEqual(goAway?.lastStream, id + 2, "slept: \(slept)")
        }
    }

    func testClientOwingATableSizeUpdateMustStillSendIt() {
        for slept in [false, true] {
            let (h, client, id) = answered()
            guard let dormant = h.sleep(client) else { return XCTFail("did not sleep") }
            if slept { XCTAssertTrue(h.wake(dormant)) }
            // The client acknowledged table size 0: a block without the update is a compression error.
            h.receive(Raw.headers(id + 2, HPACK.block(HPACK.get)))
            XCTAssertEqual(h.requests.map(\.stream), [id], "slept: \(slept)")
            XCTAssertEqual(h.frames().first { $0.type == T.goAway }?.errorCode, H2ErrorCode.compressionError.rawValue,
                           "slept: \(slept)")
        }
    }

    func testNoSleepWhileBusyOrUnsettled() {
        let h = Harness()
        let client = TestClient()
        // Nothing from the client yet.
        guard case .cannot = h.server.sleep() else { return XCTFail("slept before the client's SETTINGS") }
        let id = client.request(get)
        h.receive(client.output())
        // A stream is open, and the server's SETTINGS are unsent and unacknowledged.
        guard case .cannot = h.server.sleep() else { return XCTFail("slept with a stream open") }
        h.pump(client)
        respond(h, client, id)
        XCTAssertNotNil(h.sleep(client))

        // A graceful GOAWAY went out: the connection ends rather than sleeps.
        let other = Harness()
        let c2 = TestClient()
        let s2 = c2.request(get)
        other.pump(c2)
        respond(other, c2, s2)
        other.server.goAwayGracefully()
        other.pump(c2)
        guard case .cannot = other.server.sleep() else { return XCTFail("slept after GOAWAY") }
    }

    func testClientWindowBelowItsInitialSizeSurvivesSleep() {
        let h = Harness()
        let client = TestClient()
        // nghttp2's client returns connection credit only once half the window is spent: 20,000
        // bytes of the initial 65,535 stay spent.
        let id = client.request(get)
        h.pump(client)
        respond(h, client, id, body: [UInt8](repeating: 0x65, count: 20_000))
        XCTAssertEqual(client.streams[id]?.body.count, 20_000)
        XCTAssertTrue(h.sleepAndWake(client))
        let next = client.request(get)
        h.pump(client)
        XCTAssertTrue(UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n").submit(to: h.server, stream: next))
        let body = [UInt8](repeating: 0x66, count: 50_000)
        body.withUnsafeBytes { b in
            XCTAssertTrue(h.server.setBody(stream: next, bytes: b, endStream: true))
            let out = h.output()
            XCTAssertEqual(Frame.parse(out)!.filter { $0.type == T.data }.map(\.payload.count).reduce(0, +), 45_535,
                           "the connection window the client had left")
            client.input(out)
            h.pump(client)
        }
        XCTAssertEqual(client.streams[next]?.body, body)
        XCTAssertNil(h.server.termination)
    }
}
