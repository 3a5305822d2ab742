/// One frontend's counters in one worker's area (or the retired area). Written by that worker
/// alone; a copyable view holding only a pointer.
public struct FrontendCounters: @unchecked Sendable {
    static let words = 16
    private enum Word {
        static let connectionsActive = 0, connectionsTotal = 1, requestsTotal = 2
        static let bytesIn = 3, bytesOut = 4, responses = 5   // 5 words, one per status class
        static let h2ConnectionsActive = 10, h2ConnectionsTotal = 11, h2Streams = 12
        static let byProtocol = 13                            // 3 words: HTTP/1.0, HTTP/1.1, HTTP/2
    }

    /// The protocol a request came in, for `requestsByProtocol`.
    public enum RequestProtocol: Int, Sendable { case http10, http11, http2 }

    let words: SharedWords

    @inline(__always) public func connectionOpened() {
        words.bump(Word.connectionsActive)
        words.bump(Word.connectionsTotal)
    }
    @inline(__always) public func connectionClosed() { words.bump(Word.connectionsActive, -1) }
    @inline(__always) public func requestStarted(_ proto: RequestProtocol) {
        words.bump(Word.requestsTotal)
        words.bump(Word.byProtocol + proto.rawValue)
    }
    /// A client connection switched to HTTP/2 (it stays counted as a connection too).
    public func http2Opened() {
        words.bump(Word.h2ConnectionsActive)
        words.bump(Word.h2ConnectionsTotal)
    }
    public func http2Closed() { words.bump(Word.h2ConnectionsActive, -1) }
    @inline(__always) public func http2Stream() { words.bump(Word.h2Streams) }
    @inline(__always) public func bytesIn(_ n: Int) { words.bump(Word.bytesIn, n) }
    @inline(__always) public func bytesOut(_ n: Int) { words.bump(Word.bytesOut, n) }
    @inline(__always) public func response(status: Int) {
        words.bump(Word.responses + StatusClass.index(status))
    }

    public func read() -> FrontendValues {
        FrontendValues(connectionsActive: words.load(Word.connectionsActive),
                       connectionsTotal: words.load(Word.connectionsTotal),
                       requestsTotal: words.load(Word.requestsTotal),
                       bytesIn: words.load(Word.bytesIn),
                       bytesOut: words.load(Word.bytesOut),
                       responses: words.load(Word.responses..<Word.responses + StatusClass.count),
                       http2ConnectionsActive: words.load(Word.h2ConnectionsActive),
                       http2ConnectionsTotal: words.load(Word.h2ConnectionsTotal),
                       http2StreamsTotal: words.load(Word.h2Streams),
                       requestsByProtocol: words.load(Word.byProtocol..<Word.byProtocol + 3))
    }

    /// Adds a reaped worker's cumulative counters to `retired`; its open connections are gone.
    func retire(into retired: FrontendCounters) {
        for i in 0..<Self.words where i != Word.connectionsActive && i != Word.h2ConnectionsActive {
            retired.words.bump(i, words.load(i))
        }
    }
}

public struct FrontendValues: Sendable, Equatable {
    public var connectionsActive: Int
    public var connectionsTotal: Int
    public var requestsTotal: Int
    public var bytesIn: Int
    public var bytesOut: Int
    /// Per status class, 1xx…5xx.
    public var responses: [Int]
    public var http2ConnectionsActive: Int
    public var http2ConnectionsTotal: Int
    public var http2StreamsTotal: Int
    /// HTTP/1.0, HTTP/1.1, HTTP/2.
    public var requestsByProtocol: [Int]

    public init(connectionsActive: Int = 0, connectionsTotal: Int = 0, requestsTotal: Int = 0,
                bytesIn: Int = 0, bytesOut: Int = 0,
                responses: [Int] = Array(repeating: 0, count: StatusClass.count),
                http2ConnectionsActive: Int = 0, http2ConnectionsTotal: Int = 0, http2StreamsTotal: Int = 0,
                requestsByProtocol: [Int] = [0, 0, 0]) {
        self.connectionsActive = connectionsActive
        self.connectionsTotal = connectionsTotal
        self.requestsTotal = requestsTotal
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.responses = responses
        self.http2ConnectionsActive = http2ConnectionsActive
        self.http2ConnectionsTotal = http2ConnectionsTotal
        self.http2StreamsTotal = http2StreamsTotal
        self.requestsByProtocol = requestsByProtocol
    }

    static func + (a: FrontendValues, b: FrontendValues) -> FrontendValues {
        FrontendValues(connectionsActive: a.connectionsActive + b.connectionsActive,
                       connectionsTotal: a.connectionsTotal + b.connectionsTotal,
                       requestsTotal: a.requestsTotal + b.requestsTotal,
                       bytesIn: a.bytesIn + b.bytesIn, bytesOut: a.bytesOut + b.bytesOut,
                       responses: zip(a.responses, b.responses).map(+),
                       http2ConnectionsActive: a.http2ConnectionsActive + b.http2ConnectionsActive,
                       http2ConnectionsTotal: a.http2ConnectionsTotal + b.http2ConnectionsTotal,
                       http2StreamsTotal: a.http2StreamsTotal + b.http2StreamsTotal,
                       requestsByProtocol: zip(a.requestsByProtocol, b.requestsByProtocol).map(+))
    }
}
