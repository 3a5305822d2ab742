/// nginx-style passive health for one server: `maxFails` failed attempts within `failTimeoutMs`
/// take the server out for `failTimeoutMs`. maxFails 0 never takes it out.
///
/// The rule is pure; the state it updates lives wherever the caller keeps it: in shared memory
/// as one packed word (`State.packed`) changed by compare-and-swap, so that every worker sees a
/// server go down and concurrent updates are never lost.
public struct PassiveHealth: Sendable {
    public struct State: Equatable, Sendable {
        public var failures = 0
        public var windowStart: Int64 = 0
        /// When the current mark ends; 0 when the server was never marked (or the mark was cleared).
        public var downUntil: Int64 = 0

        public init(failures: Int = 0, windowStart: Int64 = 0, downUntil: Int64 = 0) {
            self.failures = failures
            self.windowStart = windowStart
            self.downUntil = downUntil
        }

        // One 64-bit word: bit 62 says "marked", bits 40...55 the failure count (saturating),
        // bits 0...39 a time in ms (monotonic; 2^40 ms is 34 years of uptime). A marked server
        // keeps its mark's end, an unmarked one its window's start: a mark clears the count,
        // so the two are never needed together.
        private static let markedBit = 1 << 62
        private static let timeMask = (1 << 40) - 1
        private static let maxFailures = 0xFFFF

        public init(packed: Int) {
            let time = Int64(packed & Self.timeMask)
            if packed & Self.markedBit != 0 {
                self.init(downUntil: time)
            } else {
                self.init(failures: (packed >> 40) & Self.maxFailures, windowStart: time)
            }
        }

        public var packed: Int {
            if downUntil > 0 { return Self.markedBit | Int(downUntil) & Self.timeMask }
            return min(failures, Self.maxFailures) << 40 | Int(windowStart) & Self.timeMask
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
            state = State(downUntil: now + failTimeoutMs)
            return true
        }
        return false
    }

    /// A successful exchange clears the failures counted towards a mark, and a mark itself: a
    /// marked server only gets a request when every server is out (the earliest mark is tried),
    /// and its answer shows it is back.
    public static func recordSuccess(_ state: inout State) {
        state = State()
    }
}
