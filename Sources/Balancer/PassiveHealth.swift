/// nginx-style passive health for one server: `maxFails` failed attempts within `failTimeoutMs`
/// take the server out for `failTimeoutMs`. maxFails 0 never takes it out.
public struct PassiveHealth: Sendable {
    public let maxFails: Int
    public let failTimeoutMs: Int64
    private var failures = 0
    private var windowStart: Int64 = 0
    public private(set) var downUntil: Int64 = 0

    public init(maxFails: Int, failTimeoutMs: Int) {
        self.maxFails = maxFails
        self.failTimeoutMs = Int64(failTimeoutMs)
    }

    @inline(__always)
    public func isUp(now: Int64) -> Bool { now >= downUntil }

    /// Records a failed attempt; returns true when this failure took the server down.
    public mutating func recordFailure(now: Int64) -> Bool {
        guard maxFails > 0 else { return false }
        if now - windowStart > failTimeoutMs {
            windowStart = now
            failures = 0
        }
        failures += 1
        if failures >= maxFails && isUp(now: now) {
            downUntil = now + failTimeoutMs
            failures = 0
            return true
        }
        return false
    }

    /// A successful exchange clears the failure count.
    public mutating func recordSuccess() {
        failures = 0
    }
}
