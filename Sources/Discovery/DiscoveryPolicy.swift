/// When to ask again. Times are milliseconds.
public struct DiscoveryPolicy: Equatable, Sendable {
    /// The `valid=` of the `resolver` directive: replaces every record TTL when given.
    public var validMs: Int64?
    /// The shortest interval between two lookups of a name (a TTL of 0 or 1 s must not turn into
    /// a query per loop tick).
    public var floorMs: Int64
    /// The longest: a name with a TTL of a day is still looked at every `ceilingMs`.
    public var ceilingMs: Int64
    /// After a failed lookup: `retryMinMs`, doubling per consecutive failure, at most `retryMaxMs`.
    public var retryMinMs: Int64
    public var retryMaxMs: Int64

    public init(validMs: Int64? = nil, floorMs: Int64 = 1000, ceilingMs: Int64 = 300_000,
                retryMinMs: Int64 = 1000, retryMaxMs: Int64 = 5000) {
        precondition(0 < floorMs && floorMs <= ceilingMs && 0 < retryMinMs && retryMinMs <= retryMaxMs)
        self.validMs = validMs
        self.floorMs = floorMs
        self.ceilingMs = ceilingMs
        self.retryMinMs = retryMinMs
        self.retryMaxMs = retryMaxMs
    }

    /// After an answer with this TTL (seconds): `valid` or the TTL, within [floor, ceiling].
    public func interval(ttl: UInt32) -> Int64 {
        min(max(validMs ?? Int64(ttl) * 1000, floorMs), ceilingMs)
    }

    /// After the n-th failure in a row (n >= 1).
    public func retryDelay(consecutiveFailures n: Int) -> Int64 {
        let shift = min(max(n - 1, 0), 20)
        return min(retryMinMs << Int64(shift), retryMaxMs)
    }
}
