import CNGHTTP2
import HTTP2
import XCTest

/// One test per attack of SPEC §6: the GOAWAY code, the budget named in `termination`, and that
/// the work (requests handed to the data path, frames answered) stayed bounded.
final class AttackTests: XCTestCase {
    let base = ConformanceTests.base

    private func open(_ id: Int32) -> [UInt8] {
        Raw.headers(id, HPACK.block([(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]),
                    endStream: false)
    }

    private func goAway(_ frames: [Frame]) -> H2ErrorCode? {
        frames.first { $0.type == T.goAway }.map { H2ErrorCode(rawValue: $0.errorCode) }
    }

    /// `duringReceive`: the budget ran out while reading (else while writing the answers).
    private func assertCalm(_ h: Harness, _ frames: [Frame], _ limit: H2Limit, duringReceive: Bool = true,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(goAway(frames), .enhanceYourCalm, file: file, line: line)
        XCTAssertEqual(h.server.termination?.code, .enhanceYourCalm, file: file, line: line)
        XCTAssertEqual(h.server.termination?.limit, limit, file: file, line: line)
        XCTAssertEqual(h.server.termination?.description, "GOAWAY ENHANCE_YOUR_CALM: \(limit)", file: file, line: line)
        XCTAssertEqual(h.lastResult == .fatal, duringReceive, file: file, line: line)
        XCTAssertEqual(h.receive(Raw.ping()), .fatal, "nothing more is read", file: file, line: line)
    }

    func testStreamsBeyondTheLimitAreRefused() {
        let h = Harness()
        h.receive(Raw.start + (0..<130).flatMap { open(Int32(2 * $0 + 1)) })
        let frames = h.frames()
        XCTAssertEqual(h.requests.count, 128)
        XCTAssertEqual(frames.filter { $0.type == T.rst }.map { "\($0.stream) \(H2ErrorCode(rawValue: $0.errorCode))" },
                       ["257 REFUSED_STREAM", "259 REFUSED_STREAM"])
        XCTAssertNil(goAway(frames))
    }

    /// Past a limit the client acknowledged too (RFC 9113 §5.1.2: a stream error; nghttp2 1.52 would
    /// end the connection, so it is told a higher limit than the one on the wire).
    func testStreamsBeyondAnAcknowledgedLimitAreRefused() {
        let h = Harness()
        h.receive(Raw.start + Raw.settingsAck + (0..<130).flatMap { open(Int32(2 * $0 + 1)) })
        let frames = h.frames()
        XCTAssertEqual(h.requests.count, 128)
        XCTAssertEqual(frames.filter { $0.type == T.rst }.map { "\($0.stream) \(H2ErrorCode(rawValue: $0.errorCode))" },
                       ["257 REFUSED_STREAM", "259 REFUSED_STREAM"])
        XCTAssertNil(goAway(frames))
        let settings = frames.first { $0.type == T.settings && $0.flags & T.ack == 0 }
        XCTAssertEqual(settings?.settingValue(0x3), 128, "SETTINGS_MAX_CONCURRENT_STREAMS on the wire")
    }

    /// Refusals are stream errors the client causes: a flood of them spends that budget.
    func testAFloodOfStreamsBeyondTheLimitEndsInEnhanceYourCalm() {
        let h = Harness()
        h.receive(Raw.start + Raw.settingsAck + (0..<228).flatMap { open(Int32(2 * $0 + 1)) })
        assertCalm(h, h.frames(), .streamErrors, duringReceive: false)
        XCTAssertEqual(h.requests.count, 128)
    }

    func testHeaderListOverTheLimitIsAnswered431AndNeverReachesTheDataPath() {
        let h = Harness()
        let client = TestClient()
        let id = client.request(base + [("x-big", String(repeating: "b", count: 17_000))], body: Array("body".utf8), more: true)
        let small = client.request(base + [("x-small", "1")])
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.status, "431")
        XCTAssertEqual(client.streams[id]?.body, Array("request header fields too large\n".utf8))
        XCTAssertEqual(client.streams[id]?.closeCode, H2ErrorCode.noError.rawValue, "RST_STREAM NO_ERROR: stop sending the body")
        XCTAssertEqual(h.requests.map(\.stream), [small])
        XCTAssertEqual(h.events(of: id), [], "no event of any kind for the stream")
        XCTAssertEqual(h.server.counters.streamErrors, 1)
        XCTAssertNil(h.server.termination)
    }

    func testPathOverTheLimitIsAnswered414() {
        let h = Harness()
        let client = TestClient()
        let id = client.request([(":method", "GET"), (":scheme", "https"), (":path", "/" + String(repeating: "p", count: 17_000)),
                                 (":authority", "example.com")])
        h.pump(client)
        XCTAssertEqual(client.streams[id]?.status, "414")
        XCTAssertEqual(client.streams[id]?.body, Array("uri too long\n".utf8))
        XCTAssertEqual(h.events(of: id), [])
    }

    func testRapidReset() {
        let h = Harness()
        var attack = Raw.start
        for i in 0..<1000 { attack += open(Int32(2 * i + 1)) + Raw.rst(Int32(2 * i + 1)) }
        h.receive(attack)
        let frames = h.frames()
        assertCalm(h, frames, .rapidReset)
        // The data path saw at most the burst (and the request whose reset tripped it), and each
        // of them was cancelled so that it can release the upstream work.
        XCTAssertEqual(h.requests.count, 129)
        XCTAssertEqual(h.seen.filter { if case .reset(_, .cancel) = $0 { return true } else { return false } }.count, 128)
        XCTAssertEqual(h.server.counters.clientResets, 129)
        XCTAssertEqual(frames.last { $0.type == T.goAway }?.lastStream, 257, "GOAWAY names the last stream processed")
    }

    func testResetsWithinTheRateAreFine() {
        let h = Harness()
        h.receive(Raw.start)
        var id: Int32 = 1
        for _ in 0..<20 {  // 20 seconds of 30 cancels a second, under the 32/s refill
            for _ in 0..<30 {
                h.receive(open(id) + Raw.rst(id))
                id += 2
            }
            h.now += 1000
        }
        XCTAssertNil(h.server.termination)
        XCTAssertEqual(h.requests.count, 600)
        _ = h.output()
        XCTAssertNil(h.server.termination)
    }

    func testContinuationFlood() {
        let h = Harness()
        let block = HPACK.block(base + [("x-a", String(repeating: "a", count: 200))])
        var attack = Raw.start + Raw.headers(1, Array(block[0..<10]), endHeaders: false)
        var offset = 10
        while offset + 10 < block.count {
            attack += Raw.continuation(1, Array(block[offset..<(offset + 10)]), endHeaders: false)
            offset += 10
        }
        h.receive(attack)
        assertCalm(h, h.frames(), .continuations)
        XCTAssertEqual(h.server.counters.continuations, 9)
        XCTAssertTrue(h.requests.isEmpty)
    }

    func testHeaderBlockTooLargeOnTheWire() {
        let h = Harness()
        let block = HPACK.block(base) + HPACK.literal(Array("x-a".utf8), [UInt8](repeating: 0x61, count: 60_000))
        var attack = Raw.start + Raw.headers(1, Array(block[0..<16_384]), endHeaders: false)
        for i in 1..<4 { attack += Raw.continuation(1, Array(block[(i * 16_384)..<min(block.count, (i + 1) * 16_384)]), endHeaders: i == 3) }
        h.receive(attack)
        assertCalm(h, h.frames(), .headerBlockSize)
        XCTAssertTrue(h.requests.isEmpty)
    }

    func testHPACKAmplification() {
        // One 4000-byte field enters the dynamic table, then one-byte references repeat it.
        let big = [UInt8](repeating: 0x61, count: 4000)
        func attack(_ references: Int) -> [UInt8] {
            let block = HPACK.block(base) + HPACK.indexedLiteral("x-big", big) + (0..<references).flatMap { _ in HPACK.indexed(62) }
            return Raw.start + Raw.headers(1, block)
        }
        let fine = Harness()
        fine.receive(attack(2))
        XCTAssertEqual(fine.requests.count, 1)

        let over = Harness()
        over.receive(attack(4))
        XCTAssertTrue(over.requests.isEmpty, "20 KB decoded: over the header list limit, answered 431")
        XCTAssertNil(over.server.termination)

        let h = Harness()
        h.receive(attack(100))  // 4 KB + 100 bytes on the wire, 400 KB decoded
        assertCalm(h, h.frames(), .decodedHeaderSize)
        XCTAssertTrue(h.requests.isEmpty)
    }

    func testSettingsFlood() {
        let h = Harness()
        h.receive(Raw.start + (0..<1000).flatMap { _ in Raw.settings([(0x3, 100)]) })
        let frames = h.frames()
        assertCalm(h, frames, .controlFrames)
        XCTAssertLessThanOrEqual(frames.filter { $0.type == T.settings && $0.flags == T.ack }.count, 100, "ACKs bounded by the budget")
    }

    func testPingFlood() {
        let h = Harness()
        h.receive(Raw.start + (0..<1000).flatMap { _ in Raw.ping() })
        let frames = h.frames()
        assertCalm(h, frames, .controlFrames)
        XCTAssertLessThanOrEqual(frames.filter { $0.type == T.ping }.count, 100)
    }

    func testPriorityFlood() {
        let h = Harness()
        h.receive(Raw.start + (0..<1000).flatMap { Raw.priority(Int32(2 * $0 + 1), dependsOn: 0) })
        assertCalm(h, h.frames(), .controlFrames)
    }

    func testUnknownFrameFlood() {
        let h = Harness()
        h.receive(Raw.start + (0..<1000).flatMap { _ in Raw.frame(0xfa, 0, 0, [1, 2, 3]) })
        assertCalm(h, h.frames(), .controlFrames)
    }

    func testEmptyDataFlood() {
        let h = Harness()
        h.receive(Raw.start + open(1) + (0..<1000).flatMap { _ in Raw.data(1, []) })
        assertCalm(h, h.frames(), .emptyFrames)
        XCTAssertEqual(h.server.counters.emptyFrames, 33)
    }

    func testPaddingOnlyDataFlood() {
        let h = Harness()
        h.receive(Raw.start + open(1) + (0..<1000).flatMap { _ in Raw.frame(T.data, T.padded, 1, [2, 0, 0]) })
        assertCalm(h, h.frames(), .emptyFrames)
    }

    func testEmptyContinuationFlood() {
        var settings = H2Settings()
        settings.budgets.maxContinuations = 10_000
        let h = Harness(settings)
        h.receive(Raw.start + Raw.headers(1, HPACK.block(base), endHeaders: false) +
                  (0..<1000).flatMap { _ in Raw.continuation(1, [], endHeaders: false) })
        assertCalm(h, h.frames(), .emptyFrames)
        XCTAssertEqual(h.server.counters.emptyFrames, 33)
    }

    func testWindowUpdateFlood() {
        let h = Harness()
        h.receive(Raw.start + (0..<1000).flatMap { _ in Raw.windowUpdate(0, 1) })
        assertCalm(h, h.frames(), .windowUpdates)
        XCTAssertEqual(h.server.counters.windowUpdates, 257)
    }

    func testWindowUpdatesThatAcknowledgeDataAreFine() {
        let h = Harness()
        let client = TestClient(settings: [(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 2048)])
        let id = client.request(base)
        h.pump(client)
        UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n").submit(to: h.server, stream: id)
        let body = [UInt8](repeating: 0x62, count: 2_000_000)
        body.withUnsafeBytes { b in
            h.server.setBody(stream: id, bytes: b, endStream: true)
            h.pump(client, rounds: 10_000)
        }
        XCTAssertEqual(client.streams[id]?.body.count, 2_000_000)
        XCTAssertGreaterThan(h.server.counters.windowUpdates, 1000, "a window update per 1 KB")
        XCTAssertNil(h.server.termination)
    }

    func testUnreadAcksEndTheConnection() {
        var settings = H2Settings()
        settings.budgets.controlFrames = H2Rate(burst: 10_000, perSecond: 0)
        let h = Harness(settings)
        h.receive(Raw.start + (0..<500).flatMap { _ in Raw.ping() })
        assertCalm(h, h.frames(), .queuedAcks)
    }

    func testTooManySettingsEntries() {
        let h = Harness()
        h.receive(Raw.start + Raw.settings((0..<33).map { _ in (0x3, 100) }))
        XCTAssertEqual(goAway(h.frames()), .enhanceYourCalm, "nghttp2's own limit")
    }

    func testMalformedRequestsThatMakeTheServerResetStreams() {
        let h = Harness()
        h.receive(Raw.start + (0..<300).flatMap { Raw.headers(Int32(2 * $0 + 1), HPACK.block(base + [("X-Upper", "1")])) })
        let frames = h.frames()
        assertCalm(h, frames, .streamErrors, duringReceive: false)
        XCTAssertTrue(h.requests.isEmpty)
        XCTAssertLessThanOrEqual(frames.filter { $0.type == T.rst }.count, 65)
    }

    func testResetsOfClosedStreamsCountAsControlFrames() {
        let h = Harness()
        h.receive(Raw.start + open(1) + (0..<1000).flatMap { _ in Raw.rst(1) })
        assertCalm(h, h.frames(), .controlFrames)
    }

    func testZeroWindowStallIsVisibleForTheSendTimeout() {
        let h = Harness()
        let client = TestClient(settings: [(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0)])
        let id = client.request(base)
        h.pump(client)
        UpstreamResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n").submit(to: h.server, stream: id)
        let body = Array("0123456789".utf8)
        body.withUnsafeBytes { b in
            h.server.setBody(stream: id, bytes: b, endStream: true)
            h.pump(client)
            XCTAssertTrue(h.server.isBlockedOnPeerWindow)
            XCTAssertFalse(h.server.hasOutput)
            h.receive(Raw.windowUpdate(id, 10))
            XCTAssertTrue(h.server.hasOutput)
            XCTAssertFalse(h.server.isBlockedOnPeerWindow)
            client.input(h.output())
        }
        XCTAssertEqual(client.streams[id]?.body, body)
    }

    func testEventsAndHeaderBytesHeldPerReceiveAreBounded() {
        let h = Harness()
        let bigRequest = { (id: Int32) in Raw.headers(id, HPACK.block(self.base + [("x-a", String(repeating: "a", count: 12_000))])) }
        let input = Raw.start + bigRequest(1) + bigRequest(3) + bigRequest(5)
        let first = input.withUnsafeBytes { h.server.receive($0, now: h.now) }
        guard case .consumed(let n) = first else { return XCTFail("fatal") }
        XCTAssertLessThan(n, input.count, "stops between frames once the arena cannot hold another header list")
        h.collect()
        XCTAssertEqual(h.requests.count, 1, "one 12 KB header list, then no room for a full one")
        h.receive(Array(input[n...]))
        XCTAssertEqual(h.requests.count, 3)
    }
}
