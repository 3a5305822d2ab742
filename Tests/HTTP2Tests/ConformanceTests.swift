import HTTP2
import XCTest

/// One case per RFC 9113 / RFC 7541 requirement the server enforces: raw frames after the client
/// preface and SETTINGS, and the exact error the server must answer with. A malformed message must
/// never reach the data path as a `.request`. Where nghttp2 answers a stream error with a
/// connection error, the table says so (RFC 9113 §5.4.1 lets an endpoint treat one as the other).
final class ConformanceTests: XCTestCase {
    enum Outcome {
        /// RST_STREAM on that stream with that code; the connection goes on.
        case stream(Int32, H2ErrorCode)
        /// GOAWAY with that code.
        case connection(H2ErrorCode)
    }

    struct Case {
        let rule: String
        let frames: [UInt8]
        let outcome: Outcome
        /// Streams whose (valid) request may reach the data path before the fault.
        var requests: [Int32] = []
        var start = Raw.start
    }

    static let base: [(String, String)] = [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]

    static func request(_ fields: [(String, String)], stream: Int32 = 1, endStream: Bool = true) -> [UInt8] {
        Raw.headers(stream, HPACK.block(fields), endStream: endStream)
    }

    static func with(_ extra: [(String, String)]) -> [UInt8] {
        request(base + extra)
    }

    static let post = request([(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")], endStream: false)

    static let cases: [Case] = [
        // §8.2: field names and values.
        Case(rule: "8.2.1 uppercase field name", frames: with([("X-Upper", "1")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 space in field name", frames: with([("x a", "1")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 empty field name", frames: with([("", "1")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 leading whitespace in value", frames: with([("x-a", " 1")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 trailing whitespace in value", frames: with([("x-a", "1\t")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 NUL in value", frames: with([("x-a", "a\u{0}b")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 CR LF in value", frames: with([("x-a", "a\r\nx-b: c")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.2 connection", frames: with([("connection", "keep-alive")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.2 keep-alive", frames: with([("keep-alive", "timeout=5")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.2 proxy-connection", frames: with([("proxy-connection", "close")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.2 transfer-encoding", frames: with([("transfer-encoding", "chunked")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.2 upgrade", frames: with([("upgrade", "h2c")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.2 TE other than trailers", frames: with([("te", "gzip")]), outcome: .stream(1, .protocolError)),
        // §8.3: pseudo-header fields.
        Case(rule: "8.3 pseudo-header after a regular field",
             frames: request([(":method", "GET"), (":scheme", "https"), ("x-a", "1"), (":path", "/"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3 unknown pseudo-header", frames: with([(":foo", "bar")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3 response pseudo-header in a request", frames: with([(":status", "200")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 duplicate :path", frames: with([(":path", "/again")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 duplicate :method", frames: request([(":method", "GET")] + base), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 missing :method", frames: request(Array(base.dropFirst())), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 missing :scheme", frames: request(base.filter { $0.0 != ":scheme" }), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 missing :path", frames: request(base.filter { $0.0 != ":path" }), outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 missing :authority and host", frames: request(base.filter { $0.0 != ":authority" }),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 empty :path",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", ""), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 :path not starting with /",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "index.html"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 :path * without OPTIONS",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "*"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 :path not origin-form with another scheme",
             frames: request([(":method", "GET"), (":scheme", "foo"), (":path", "x"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 fragment in :path",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "/a#b"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 8-bit byte in :path (RFC 3986)",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "/caf\u{e9}"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 space in :path",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "/a b"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 space in :method",
             frames: request([(":method", "GET / HTTP/1.1"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 slash in :authority",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "a/b")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 non-token byte in a field name", frames: with([("x(a", "1")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 control byte in a value", frames: with([("x-a", "a\u{1}b")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.2.1 two host fields without :authority",
             frames: request(base.filter { $0.0 != ":authority" } + [("host", "a"), ("host", "b")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 userinfo in :authority",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "user@example.com")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 host differing from :authority", frames: with([("host", "other.example")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.3.1 empty :authority",
             frames: request([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.5 CONNECT without :authority", frames: request([(":method", "CONNECT")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.5 CONNECT with :path",
             frames: request([(":method", "CONNECT"), (":authority", "example.com:443"), (":path", "/")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.5 :protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL",
             frames: request([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"), (":path", "/"),
                              (":authority", "example.com")]),
             outcome: .stream(1, .protocolError)),
        // §8.1.1: content-length.
        Case(rule: "8.1.1 content-length with END_STREAM on HEADERS", frames: with([("content-length", "1")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.1.1 two content-length fields", frames: with([("content-length", "0"), ("content-length", "0")]),
             outcome: .stream(1, .protocolError)),
        Case(rule: "8.1.1 content-length not a number", frames: with([("content-length", "1x")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.1.1 content-length with a sign", frames: with([("content-length", "+0")]), outcome: .stream(1, .protocolError)),
        Case(rule: "8.1.1 DATA longer than content-length",
             frames: request([(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "example.com"),
                              ("content-length", "2")], endStream: false) + Raw.data(1, Array("abc".utf8), endStream: true),
             outcome: .stream(1, .protocolError), requests: [1]),
        Case(rule: "8.1.1 DATA shorter than content-length",
             frames: request([(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "example.com"),
                              ("content-length", "5")], endStream: false) + Raw.data(1, Array("abc".utf8), endStream: true),
             outcome: .stream(1, .protocolError), requests: [1]),
        // §8.1: trailers.
        Case(rule: "8.1 pseudo-header in trailers",
             frames: post + Raw.headers(1, HPACK.block([(":path", "/x")]), endStream: true), outcome: .stream(1, .protocolError),
             requests: [1]),
        Case(rule: "8.1 trailers without END_STREAM",
             frames: post + Raw.headers(1, HPACK.block([("x-t", "1")]), endStream: false), outcome: .stream(1, .protocolError),
             requests: [1]),
        // §5.1: stream states and identifiers.
        Case(rule: "5.1 DATA on an idle stream", frames: Raw.data(3, [1]), outcome: .connection(.protocolError)),
        Case(rule: "5.1 DATA on a half-closed (remote) stream", frames: with([]) + Raw.data(1, [1]),
             outcome: .connection(.streamClosed), requests: [1]),
        Case(rule: "5.1 DATA after the client's RST_STREAM", frames: post + Raw.rst(1) + Raw.data(1, [1]),
             outcome: .stream(1, .streamClosed), requests: [1]),
        Case(rule: "5.1 HEADERS after the client's RST_STREAM",
             frames: post + Raw.rst(1) + Raw.headers(1, HPACK.block([("x-t", "1")])), outcome: .stream(1, .streamClosed), requests: [1]),
        Case(rule: "6.1 DATA on stream 0", frames: Raw.data(0, [1]), outcome: .connection(.protocolError)),
        Case(rule: "5.1 RST_STREAM on an idle stream", frames: Raw.rst(5), outcome: .connection(.protocolError)),
        Case(rule: "5.1 WINDOW_UPDATE on an idle stream", frames: Raw.windowUpdate(5, 1), outcome: .connection(.protocolError)),
        Case(rule: "6.2 HEADERS on stream 0", frames: request(base, stream: 0), outcome: .connection(.protocolError)),
        Case(rule: "5.1.1 HEADERS on an even stream", frames: request(base, stream: 2), outcome: .connection(.protocolError)),
        Case(rule: "5.1.1 HEADERS on a lower stream id the client skipped", frames: request(base, stream: 5) + request(base, stream: 3),
             outcome: .connection(.protocolError), requests: [5]),
        Case(rule: "5.3.1 PRIORITY on an idle stream depending on itself", frames: Raw.priority(1, dependsOn: 1),
             outcome: .connection(.protocolError)),
        Case(rule: "5.1 HEADERS on a half-closed (remote) stream", frames: request(base, stream: 5) + request(base, stream: 5),
             outcome: .connection(.streamClosed), requests: [5]),
        Case(rule: "5.3.1 stream depending on itself",
             frames: Raw.frame(T.headers, T.endHeaders | T.endStream | 0x20, 1, Raw.be32(1) + [16] + HPACK.block(base)),
             outcome: .connection(.protocolError)),
        Case(rule: "6.10 CONTINUATION without HEADERS", frames: Raw.continuation(1, HPACK.block(base), endHeaders: true),
             outcome: .connection(.protocolError)),
        Case(rule: "6.10 another frame inside a header block",
             frames: Raw.headers(1, HPACK.block(base), endHeaders: false) + Raw.ping(), outcome: .connection(.protocolError)),
        Case(rule: "6.10 CONTINUATION on another stream",
             frames: Raw.headers(1, HPACK.block(base), endHeaders: false) + Raw.continuation(3, [], endHeaders: true),
             outcome: .connection(.protocolError)),
        Case(rule: "8.4 PUSH_PROMISE from a client", frames: Raw.frame(T.pushPromise, T.endHeaders, 1, Raw.be32(2)),
             outcome: .connection(.protocolError)),
        // §6.5: SETTINGS.
        Case(rule: "6.5.2 ENABLE_PUSH 2", frames: Raw.settings([(0x2, 2)]), outcome: .connection(.protocolError)),
        Case(rule: "6.5.2 INITIAL_WINDOW_SIZE above 2^31-1", frames: Raw.settings([(0x4, 1 << 31)]),
             outcome: .connection(.flowControlError)),
        Case(rule: "6.5.2 MAX_FRAME_SIZE below 16384", frames: Raw.settings([(0x5, 16_383)]), outcome: .connection(.protocolError)),
        Case(rule: "6.5.2 MAX_FRAME_SIZE above 2^24-1", frames: Raw.settings([(0x5, 1 << 24)]), outcome: .connection(.protocolError)),
        Case(rule: "6.5 SETTINGS length not a multiple of 6", frames: Raw.frame(T.settings, 0, 0, [0, 3, 0, 0, 0]),
             outcome: .connection(.frameSizeError)),
        Case(rule: "6.5 SETTINGS ACK with a payload", frames: Raw.frame(T.settings, T.ack, 0, [0, 3, 0, 0, 0, 1]),
             outcome: .connection(.frameSizeError)),
        Case(rule: "6.5 SETTINGS on a stream", frames: Raw.frame(T.settings, 0, 1, []), outcome: .connection(.protocolError)),
        // §6.9: WINDOW_UPDATE.
        Case(rule: "6.9 connection WINDOW_UPDATE of 0", frames: Raw.windowUpdate(0, 0), outcome: .connection(.protocolError)),
        // A stream error in the RFC; nghttp2 makes it a connection error, which §5.4.1 allows.
        Case(rule: "6.9 stream WINDOW_UPDATE of 0", frames: post + Raw.windowUpdate(1, 0), outcome: .connection(.protocolError),
             requests: [1]),
        Case(rule: "6.9.1 connection window above 2^31-1", frames: Raw.windowUpdate(0, 0x7fff_ffff),
             outcome: .connection(.flowControlError)),
        Case(rule: "6.9.1 stream window above 2^31-1", frames: post + Raw.windowUpdate(1, 0x7fff_ffff),
             outcome: .stream(1, .flowControlError), requests: [1]),
        Case(rule: "6.9 WINDOW_UPDATE of the wrong length", frames: Raw.frame(T.windowUpdate, 0, 0, [0, 0, 1]),
             outcome: .connection(.frameSizeError)),
        // §3.4, §4: preface and framing.
        Case(rule: "3.4 invalid connection preface", frames: [], outcome: .connection(.protocolError),
             start: Array("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n".utf8) + Raw.settings()),
        Case(rule: "3.4 first frame not SETTINGS", frames: [], outcome: .connection(.protocolError), start: Raw.preface + Raw.ping()),
        Case(rule: "4.2 frame larger than MAX_FRAME_SIZE", frames: Raw.data(1, [UInt8](repeating: 0, count: 16_385)),
             outcome: .connection(.frameSizeError)),
        Case(rule: "6.7 PING of the wrong length", frames: Raw.frame(T.ping, 0, 0, [0, 0, 0, 0, 0, 0, 0]),
             outcome: .connection(.frameSizeError)),
        Case(rule: "6.7 PING on a stream", frames: Raw.frame(T.ping, 0, 1, [UInt8](repeating: 0, count: 8)),
             outcome: .connection(.protocolError)),
        Case(rule: "6.4 RST_STREAM of the wrong length", frames: post + Raw.frame(T.rst, 0, 1, [0, 0, 8]),
             outcome: .connection(.frameSizeError), requests: [1]),
        // A stream error in the RFC; nghttp2 makes it a connection error.
        Case(rule: "6.3 PRIORITY of the wrong length", frames: Raw.frame(T.priority, 0, 1, [0, 0, 0]),
             outcome: .connection(.frameSizeError)),
        Case(rule: "6.3 PRIORITY on stream 0", frames: Raw.priority(0), outcome: .connection(.protocolError)),
        Case(rule: "5.3.1 PRIORITY depending on its own stream", frames: post + Raw.priority(1, dependsOn: 1),
             outcome: .stream(1, .protocolError), requests: [1]),
        Case(rule: "6.4 RST_STREAM on stream 0", frames: Raw.rst(0), outcome: .connection(.protocolError)),
        Case(rule: "6.8 GOAWAY on a stream", frames: Raw.frame(T.goAway, 0, 1, Raw.be32(0) + Raw.be32(0)),
             outcome: .connection(.protocolError)),
        Case(rule: "6.1 padding longer than the payload", frames: post + Raw.frame(T.data, T.padded, 1, [5, 0, 0]),
             outcome: .connection(.protocolError), requests: [1]),
        // RFC 7541: HPACK.
        Case(rule: "RFC 7541 2.3.3 index 0", frames: Raw.headers(1, [0x80]), outcome: .connection(.compressionError)),
        Case(rule: "RFC 7541 2.3.3 index beyond the tables", frames: Raw.headers(1, HPACK.indexed(70)),
             outcome: .connection(.compressionError)),
        Case(rule: "RFC 7541 4.2 table size update above SETTINGS_HEADER_TABLE_SIZE",
             frames: Raw.headers(1, HPACK.integer(8192, prefixBits: 5, first: 0x20) + HPACK.block(base)),
             outcome: .connection(.compressionError)),
    ]

    func testConformanceTable() {
        for c in Self.cases { check(c) }
    }

    private func check(_ c: Case) {
        let h = Harness()
        h.receive(c.start + c.frames)
        let frames = h.frames()
        let goAway = frames.first { $0.type == T.goAway }
        switch c.outcome {
        case .stream(let id, let code):
            let rst = frames.first { $0.type == T.rst && $0.stream == id }
            XCTAssertEqual(rst.map { H2ErrorCode(rawValue: $0.errorCode) }, code, c.rule)
            XCTAssertNil(goAway, "\(c.rule): the connection goes on")
        case .connection(let code):
            XCTAssertEqual(goAway.map { H2ErrorCode(rawValue: $0.errorCode) }, code, c.rule)
            XCTAssertEqual(h.server.termination?.code, code, c.rule)
        }
        XCTAssertEqual(h.requests.map(\.stream), c.requests, "\(c.rule): no malformed request reaches the data path")
        if !c.requests.isEmpty, case .stream(let id, _) = c.outcome {
            XCTAssertTrue(h.seen.contains { if case .reset(id, _) = $0 { return true } else { return false } },
                          "\(c.rule): the data path learns of the reset")
            XCTAssertFalse(h.body(id).ended, "\(c.rule): the body never completes")
        }
    }

    /// Frames on a stream closed both ways (the client ended it, its response went out), which
    /// nghttp2 has forgotten: the connection ends with STREAM_CLOSED (RFC 9113 §5.1).
    func testFramesOnAStreamClosedBothWaysEndTheConnection() {
        for (rule, late) in [("DATA", Raw.data(1, [1])), ("HEADERS", Self.with([]))] {
            let h = Harness()
            h.receive(Raw.start + Self.with([]))
            XCTAssertTrue(h.server.answer(stream: 1, status: 503), rule)
            XCTAssertTrue(h.frames().contains { $0.stream == 1 && $0.flags & T.endStream != 0 }, "\(rule): the response ended")
            h.receive(late)
            XCTAssertEqual(h.frames().first { $0.type == T.goAway }.map { H2ErrorCode(rawValue: $0.errorCode) }, .streamClosed, rule)
        }
    }

    /// A stream the client has not ended may have been reset by this side while the client still
    /// sent on it (RFC 9113 §5.1): its frames are ignored and the connection goes on.
    func testFramesOnAStreamThisSideResetAreIgnored() {
        let h = Harness()
        h.receive(Raw.start + Self.post)
        XCTAssertTrue(h.server.resetStream(stream: 1, code: .cancel))
        XCTAssertTrue(h.frames().contains { $0.type == T.rst && $0.stream == 1 })
        h.receive(Raw.data(1, [1]) + Raw.headers(1, HPACK.block([("x-t", "1")])) + Self.request(Self.base, stream: 3))
        XCTAssertNil(h.frames().first { $0.type == T.goAway || $0.type == T.rst })
        XCTAssertEqual(h.requests.map(\.stream), [1, 3])
    }

    /// The history of closed streams covers the client's 64 latest odd ids: a frame on an older
    /// one is ignored, as nghttp2 alone would.
    func testClosedStreamHistoryCoversTheLatest64Ids() {
        let h = Harness()
        h.receive(Raw.start + Self.with([]) + Self.request(Self.base, stream: 129))
        XCTAssertTrue(h.server.answer(stream: 1, status: 503) && h.server.answer(stream: 129, status: 503))
        _ = h.frames()
        h.receive(Raw.data(1, [1]))  // 64 odd ids below 129: forgotten
        XCTAssertNil(h.frames().first { $0.type == T.goAway || $0.type == T.rst })
        h.receive(Self.request(Self.base, stream: 3))  // 63 below, never opened
        XCTAssertEqual(h.frames().first { $0.type == T.goAway }.map { H2ErrorCode(rawValue: $0.errorCode) }, .protocolError)
        XCTAssertEqual(h.requests.map(\.stream), [1, 129])
    }

    func testValidRequestsPassTheSameChecks() {
        for frames in [Self.with([]), Self.request([(":method", "OPTIONS"), (":scheme", "https"), (":path", "*"), (":authority", "a")]),
                       Self.with([("x-a", "caf\u{e9}"), ("x-b", "a\tb")]), Self.with([("host", "EXAMPLE.com")])] {
            let h = Harness()
            h.receive(Raw.start + frames)
            XCTAssertEqual(h.requests.count, 1)
            XCTAssertFalse(h.frames().contains { $0.type == T.rst || $0.type == T.goAway })
        }
    }
}
