/// One frontend's counters in one worker's area (or the retired area). Written by that worker
/// alone; a copyable view holding only a pointer.
public struct FrontendCounters: @unchecked Sendable {
    static let words = 10
    private enum Word {
        static let connectionsActive = 0, connectionsTotal = 1, requestsTotal = 2
        static let bytesIn = 3, bytesOut = 4, responses = 5   // 5 words, one per status class
    }

    let words: SharedWords

    @inline(__always) public func connectionOpened() {
        words.bump(Word.connectionsActive)
        words.bump(Word.connectionsTotal)
    }
    @inline(__always) public func connectionClosed() { words.bump(Word.connectionsActive, -1) }
    @inline(__always) public func requestStarted() { words.bump(Word.requestsTotal) }
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
                       responses: words.load(Word.responses..<Word.responses + StatusClass.count))
    }

    /// Adds a reaped worker's cumulative counters to `retired`; its open connections are gone.
    func retire(into retired: FrontendCounters) {
        for i in 0..<Self.words where i != Word.connectionsActive { retired.words.bump(i, words.load(i)) }
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

    static func + (a: FrontendValues, b: FrontendValues) -> FrontendValues {
        FrontendValues(connectionsActive: a.connectionsActive + b.connectionsActive,
                       connectionsTotal: a.connectionsTotal + b.connectionsTotal,
                       requestsTotal: a.requestsTotal + b.requestsTotal,
                       bytesIn: a.bytesIn + b.bytesIn, bytesOut: a.bytesOut + b.bytesOut,
                       responses: zip(a.responses, b.responses).map(+))
    }
}
