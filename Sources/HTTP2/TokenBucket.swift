/// Allows `burst` events at once and `perSecond` more each second after that. Time comes from the
/// caller (monotonic milliseconds), so tests can drive it.
struct TokenBucket {
    // Thousandths of a token, so that refills of a few milliseconds are not lost to rounding.
    private var milli: Int
    private let capacityMilli: Int
    private let perSecond: Int
    private var lastMs: Int64

    init(_ rate: H2Rate, now: Int64) {
        precondition(rate.burst >= 1 && rate.perSecond >= 0, "a budget needs a burst of at least one")
        capacityMilli = rate.burst * 1000
        milli = capacityMilli
        perSecond = rate.perSecond
        lastMs = now
    }

    /// Takes one token; false when the budget is spent.
    mutating func take(now: Int64) -> Bool {
        if now > lastMs {
            // perSecond tokens per 1000 ms is perSecond thousandths per millisecond.
            let elapsed = Int(min(now - lastMs, 3_600_000))
            milli = min(capacityMilli, milli + elapsed * perSecond)
            lastMs = now
        }
        guard milli >= 1000 else { return false }
        milli -= 1000
        return true
    }

    /// Gives back `tokens`, up to the burst.
    mutating func give(_ tokens: Int) {
        milli = min(capacityMilli, milli + tokens * 1000)
    }
}
