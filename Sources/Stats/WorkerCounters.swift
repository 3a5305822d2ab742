/// One worker process's slot: who it is and what it is doing, for the workers table.
public struct WorkerCounters: @unchecked Sendable {
    static let words = 4
    private enum Word {
        static let pid = 0, generation = 1, connectionsActive = 2, requestsTotal = 3
    }

    let words: SharedWords

    public var pid: Int32 {
        get { Int32(truncatingIfNeeded: words.load(Word.pid)) }
        nonmutating set { words.store(Word.pid, Int(newValue)) }
    }
    public var generation: Int {
        get { words.load(Word.generation) }
        nonmutating set { words.store(Word.generation, newValue) }
    }

    public func connectionOpened() { words.add(Word.connectionsActive) }
    public func connectionClosed() { words.subtract(Word.connectionsActive) }
    public func requestServed() { words.add(Word.requestsTotal) }

    public func read() -> (connectionsActive: Int, requestsTotal: Int) {
        (words.load(Word.connectionsActive), words.load(Word.requestsTotal))
    }

    /// Clears the slot for a new worker (the previous occupant's figures must not carry over).
    func zero() {
        for i in 0..<Self.words { words.store(i, 0) }
    }
}
