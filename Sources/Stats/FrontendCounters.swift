/// One frontend's counters in the shared region, updated by every worker. A copyable view:
/// it holds only a pointer, and every operation is a relaxed atomic.
public struct FrontendCounters: @unchecked Sendable {
    static let words = 10
    private enum Word {
        static let connectionsActive = 0, connectionsTotal = 1, requestsTotal = 2
        static let bytesIn = 3, bytesOut = 4, responses = 5   // 5 words, one per status class
    }

    let words: SharedWords

    public func connectionOpened() {
        words.add(Word.connectionsActive)
        words.add(Word.connectionsTotal)
    }
    public func connectionClosed() { words.subtract(Word.connectionsActive) }
    public func requestStarted() { words.add(Word.requestsTotal) }
    public func bytesIn(_ n: Int) { words.add(Word.bytesIn, n) }
    public func bytesOut(_ n: Int) { words.add(Word.bytesOut, n) }
    public func response(status: Int) {
        words.add(Word.responses + StatusClass.index(status))
    }

    public func read() -> FrontendValues {
        FrontendValues(connectionsActive: words.load(Word.connectionsActive),
                       connectionsTotal: words.load(Word.connectionsTotal),
                       requestsTotal: words.load(Word.requestsTotal),
                       bytesIn: words.load(Word.bytesIn),
                       bytesOut: words.load(Word.bytesOut),
                       responses: words.load(Word.responses..<Word.responses + StatusClass.count))
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

    public init(connectionsActive: Int = 0, connectionsTotal: Int = 0, requestsTotal: Int = 0,
                bytesIn: Int = 0, bytesOut: Int = 0,
                responses: [Int] = Array(repeating: 0, count: StatusClass.count)) {
        self.connectionsActive = connectionsActive
        self.connectionsTotal = connectionsTotal
        self.requestsTotal = requestsTotal
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.responses = responses
    }
}
