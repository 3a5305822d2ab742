/// The part of a server's state that every process writes: the in-flight count least_conn
/// reads across workers, and the health words. They sit on separate cache lines: the in-flight
/// count changes on every request, the health words rarely (but are read on every pick).
public struct SharedServerState: @unchecked Sendable {
    static let words = 16
    private enum Word {
        static let inFlight = 0
        // Second line.
        static let passive = 8, checkDown = 9, adminState = 10, adminWeight = 11, upSince = 12
    }

    /// What an operator set with the runtime control.
    public enum AdminState: Int, Sendable {
        /// As configured.
        case normal = 0
        /// No new requests; those in flight (and sticky ones) finish.
        case drain = 1
        /// Down.
        case disabled = 2
    }

    let words: SharedWords

    @inline(__always) public var inFlight: Int { words.load(Word.inFlight) }
    @inline(__always) public func requestStarted() { words.add(Word.inFlight) }
    @inline(__always) public func requestFinished() { words.subtract(Word.inFlight) }
    func giveBack(_ n: Int) { words.subtract(Word.inFlight, n) }

    /// Passive health as one packed word (its meaning belongs to the caller), changed only by
    /// compare-and-swap so that concurrent failures and a health check's clearing never undo
    /// each other.
    @inline(__always) public var passive: Int { words.load(Word.passive) }

    /// Applies `change` to the passive word atomically (retrying on contention); returns the
    /// old and new values.
    @discardableResult
    public func updatePassive(_ change: (Int) -> Int) -> (old: Int, new: Int) {
        var old = words.load(Word.passive)
        while true {
            let new = change(old)
            if new == old { return (old, new) }
            let found = words.compareExchange(Word.passive, expected: old, desired: new)
            if found == old { return (old, new) }
            old = found
        }
    }

    public var adminState: AdminState {
        @inline(__always) get { AdminState(rawValue: words.load(Word.adminState)) ?? .normal }
        nonmutating set { words.store(Word.adminState, newValue.rawValue) }
    }

    /// The weight an operator set, 0 for the configured one.
    public var adminWeight: Int {
        @inline(__always) get { words.load(Word.adminWeight) }
        nonmutating set { words.store(Word.adminWeight, newValue) }
    }

    /// When the server last came up (monotonic ms), for slow start; 0 when unknown (up all along).
    public var upSince: Int64 {
        @inline(__always) get { Int64(words.load(Word.upSince)) }
        nonmutating set { words.store(Word.upSince, Int(newValue)) }
    }

    /// Set by the master's active health checks.
    public var checkDown: Bool {
        @inline(__always) get { words.load(Word.checkDown) != 0 }
        nonmutating set { words.store(Word.checkDown, newValue ? 1 : 0) }
    }
}
