import Atomics

/// A run of Int words in the shared region. Two kinds of writer use them:
/// - a word written by one process only (a worker's own counters) is updated with `bump`, a
///   relaxed load and store: no locked instruction, and readers (the master) still see whole
///   values;
/// - a word written by several processes (least_conn's in-flight count, health state) is updated
///   with `add`/`subtract`/`compareExchange`, relaxed atomic read-modify-writes.
struct SharedWords {
    let base: UnsafeMutablePointer<Int.AtomicRepresentation>

    @inline(__always)
    private func atomic(_ index: Int) -> UnsafeAtomic<Int> { UnsafeAtomic<Int>(at: base + index) }

    /// Adds `n` to a word this process alone writes.
    @inline(__always)
    func bump(_ index: Int, _ n: Int = 1) {
        let a = atomic(index)
        a.store(a.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    @inline(__always)
    func add(_ index: Int, _ n: Int = 1) {
        atomic(index).wrappingIncrement(by: n, ordering: .relaxed)
    }

    @inline(__always)
    func subtract(_ index: Int, _ n: Int = 1) {
        atomic(index).wrappingDecrement(by: n, ordering: .relaxed)
    }

    @inline(__always)
    func load(_ index: Int) -> Int {
        atomic(index).load(ordering: .relaxed)
    }

    @inline(__always)
    func store(_ index: Int, _ value: Int) {
        atomic(index).store(value, ordering: .relaxed)
    }

    /// Replaces `expected` with `desired`; returns the value found (equal to `expected` on success).
    @inline(__always)
    func compareExchange(_ index: Int, expected: Int, desired: Int) -> Int {
        atomic(index).compareExchange(expected: expected, desired: desired, ordering: .relaxed).original
    }

    func load(_ range: Range<Int>) -> [Int] {
        range.map { load($0) }
    }

    /// The words `offset...` as a record of their own.
    func advanced(by offset: Int) -> SharedWords {
        SharedWords(base: base + offset)
    }
}
