/// One worker process's own record: who it is and what it is doing, for the workers table.
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

    @inline(__always) public func connectionOpened() { words.bump(Word.connectionsActive) }
    @inline(__always) public func connectionClosed() { words.bump(Word.connectionsActive, -1) }
    @inline(__always) public func requestServed() { words.bump(Word.requestsTotal) }

    public func read() -> (connectionsActive: Int, requestsTotal: Int) {
        (words.load(Word.connectionsActive), words.load(Word.requestsTotal))
    }
}
