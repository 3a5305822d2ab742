/// The part of a server's state that every process writes: the in-flight count least_conn
/// reads across workers, and the health words. They sit on separate cache lines: the in-flight
/// count changes on every request, the health words rarely (but are read on every pick).
public struct SharedServerState: @unchecked Sendable {
    static let words = 16
    private enum Word {
        static let inFlight = 0
        // Second line.
        static let passive = 8, checkDown = 9
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

    /// Set by the master's active health checks.
    public var checkDown: Bool {
        @inline(__always) get { words.load(Word.checkDown) != 0 }
        nonmutating set { words.store(Word.checkDown, newValue ? 1 : 0) }
    }
}
