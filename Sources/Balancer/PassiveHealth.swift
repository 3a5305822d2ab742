/// nginx-style passive health for one server: `maxFails` failed attempts within `failTimeoutMs`
/// take the server out for `failTimeoutMs`. maxFails 0 never takes it out.
///
/// The rule is pure; the state it updates lives wherever the caller keeps it (shared memory, so
/// that every worker sees a server go down).
public struct PassiveHealth: Sendable {
    public struct State: Equatable, Sendable {
        public var failures = 0
        public var windowStart: Int64 = 0
        public var downUntil: Int64 = 0
        public init(failures: Int = 0, windowStart: Int64 = 0, downUntil: Int64 = 0) {
            self.failures = failures
            self.windowStart = windowStart
            self.downUntil = downUntil
        }
    }

    public let maxFails: Int
    public let failTimeoutMs: Int64

    public init(maxFails: Int, failTimeoutMs: Int) {
        self.maxFails = maxFails
        self.failTimeoutMs = Int64(failTimeoutMs)
    }

    @inline(__always)
    public static func isUp(_ state: State, now: Int64) -> Bool { now >= state.downUntil }

    /// Records a failed attempt; returns true when this failure took the server down.
    public func recordFailure(_ state: inout State, now: Int64) -> Bool {
        guard maxFails > 0 else { return false }
        if now - state.windowStart > failTimeoutMs {
            state.windowStart = now
            state.failures = 0
        }
        state.failures += 1
        if state.failures >= maxFails && PassiveHealth.isUp(state, now: now) {
            state.downUntil = now + failTimeoutMs
            state.failures = 0
            return true
        }
        return false
    }

    /// A successful exchange clears the failure count.
    public static func recordSuccess(_ state: inout State) {
        state.failures = 0
    }
}
