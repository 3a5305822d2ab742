/// One upstream server's counters and health state in the shared region.
///
/// The health words are shared by all workers so that a server marked down by one is skipped
/// by all. Several workers may write them at once; the races are benign (last writer wins).
/// Times are Int64 milliseconds of CLOCK_MONOTONIC, one clock for every process on the host.
public struct ServerCounters: @unchecked Sendable {
    static let words = 12 + HistogramWords.words
    private enum Word {
        static let activeRequests = 0, requestsTotal = 1, failuresTotal = 2
        static let failCount = 3, failWindowStart = 4, downUntil = 5, checkDown = 6
        static let responses = 7      // 5 words, one per status class
        static let histogram = 12     // HistogramWords.words words
    }

    let words: SharedWords

    public var activeRequests: Int { words.load(Word.activeRequests) }

    public func requestStarted() {
        words.add(Word.activeRequests)
        words.add(Word.requestsTotal)
    }
    public func requestFinished() { words.subtract(Word.activeRequests) }
    public func failure() { words.add(Word.failuresTotal) }

    public func response(status: Int, seconds: Double) {
        words.add(Word.responses + StatusClass.index(status))
        histogram.record(seconds: seconds)
    }

    public var failCount: Int {
        get { words.load(Word.failCount) }
        nonmutating set { words.store(Word.failCount, newValue) }
    }
    public var failWindowStart: Int64 {
        get { Int64(words.load(Word.failWindowStart)) }
        nonmutating set { words.store(Word.failWindowStart, Int(newValue)) }
    }
    public var downUntil: Int64 {
        get { Int64(words.load(Word.downUntil)) }
        nonmutating set { words.store(Word.downUntil, Int(newValue)) }
    }
    /// Set by the master's active health checks.
    public var checkDown: Bool {
        get { words.load(Word.checkDown) != 0 }
        nonmutating set { words.store(Word.checkDown, newValue ? 1 : 0) }
    }

    public func read() -> ServerValues {
        ServerValues(activeRequests: words.load(Word.activeRequests),
                     requestsTotal: words.load(Word.requestsTotal),
                     failuresTotal: words.load(Word.failuresTotal),
                     responses: words.load(Word.responses..<Word.responses + StatusClass.count),
                     histogram: histogram.read(),
                     downUntil: downUntil,
                     checkDown: checkDown)
    }

    private var histogram: HistogramWords {
        HistogramWords(words: words.advanced(by: Word.histogram))
    }
}

public struct ServerValues: Sendable, Equatable {
    public var activeRequests: Int
    public var requestsTotal: Int
    public var failuresTotal: Int
    /// Per status class, 1xx…5xx.
    public var responses: [Int]
    public var histogram: HistogramValues
    public var downUntil: Int64
    public var checkDown: Bool

    public init(activeRequests: Int = 0, requestsTotal: Int = 0, failuresTotal: Int = 0,
                responses: [Int] = Array(repeating: 0, count: StatusClass.count),
                histogram: HistogramValues = HistogramValues(), downUntil: Int64 = 0, checkDown: Bool = false) {
        self.activeRequests = activeRequests
        self.requestsTotal = requestsTotal
        self.failuresTotal = failuresTotal
        self.responses = responses
        self.histogram = histogram
        self.downUntil = downUntil
        self.checkDown = checkDown
    }
}
