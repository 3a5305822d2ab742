/// One upstream server's counters in one worker's area (or the retired area), written by that
/// worker alone. `inFlight` is this worker's share of the server's shared in-flight count, kept
/// so that the master can give it back when the worker dies.
public struct ServerCounters: @unchecked Sendable {
    static let words = 8 + HistogramWords.words
    private enum Word {
        static let inFlight = 0, requestsTotal = 1, failuresTotal = 2
        static let responses = 3      // 5 words, one per status class
        static let histogram = 8      // HistogramWords.words words
    }

    let words: SharedWords

    @inline(__always) public func requestStarted() {
        words.bump(Word.inFlight)
        words.bump(Word.requestsTotal)
    }
    @inline(__always) public func requestFinished() { words.bump(Word.inFlight, -1) }
    public func failure() { words.bump(Word.failuresTotal) }

    @inline(__always) public func response(status: Int, seconds: Double) {
        words.bump(Word.responses + StatusClass.index(status))
        histogram.record(seconds: seconds)
    }

    var inFlight: Int { words.load(Word.inFlight) }

    func read() -> ServerValues {
        ServerValues(activeRequests: 0,
                     requestsTotal: words.load(Word.requestsTotal),
                     failuresTotal: words.load(Word.failuresTotal),
                     responses: words.load(Word.responses..<Word.responses + StatusClass.count),
                     histogram: histogram.read())
    }

    /// Adds a reaped worker's cumulative counters to `retired`.
    func retire(into retired: ServerCounters) {
        for i in 0..<Self.words where i != Word.inFlight { retired.words.bump(i, words.load(i)) }
    }

    private var histogram: HistogramWords {
        HistogramWords(words: words.advanced(by: Word.histogram))
    }
}

public struct ServerValues: Sendable, Equatable {
    /// Requests in flight on the server across all workers.
    public var activeRequests: Int
    public var requestsTotal: Int
    public var failuresTotal: Int
    /// Per status class, 1xx…5xx.
    public var responses: [Int]
    public var histogram: HistogramValues

    public init(activeRequests: Int = 0, requestsTotal: Int = 0, failuresTotal: Int = 0,
                responses: [Int] = Array(repeating: 0, count: StatusClass.count),
                histogram: HistogramValues = HistogramValues()) {
        self.activeRequests = activeRequests
        self.requestsTotal = requestsTotal
        self.failuresTotal = failuresTotal
        self.responses = responses
        self.histogram = histogram
    }

    static func + (a: ServerValues, b: ServerValues) -> ServerValues {
        ServerValues(activeRequests: a.activeRequests + b.activeRequests, requestsTotal: a.requestsTotal + b.requestsTotal,
                     failuresTotal: a.failuresTotal + b.failuresTotal, responses: zip(a.responses, b.responses).map(+),
                     histogram: a.histogram + b.histogram)
    }
}
