import Atomics

/// A run of Int words in the shared region, accessed only with relaxed atomics: each counter
/// is independent, so no ordering between them is needed, and relaxed operations are the
/// cheapest that stay correct when several processes update the same word.
struct SharedWords {
    let base: UnsafeMutablePointer<Int.AtomicRepresentation>

    @inline(__always)
    func add(_ index: Int, _ n: Int = 1) {
        UnsafeAtomic<Int>(at: base + index).wrappingIncrement(by: n, ordering: .relaxed)
    }

    @inline(__always)
    func subtract(_ index: Int, _ n: Int = 1) {
        UnsafeAtomic<Int>(at: base + index).wrappingDecrement(by: n, ordering: .relaxed)
    }

    @inline(__always)
    func load(_ index: Int) -> Int {
        UnsafeAtomic<Int>(at: base + index).load(ordering: .relaxed)
    }

    @inline(__always)
    func store(_ index: Int, _ value: Int) {
        UnsafeAtomic<Int>(at: base + index).store(value, ordering: .relaxed)
    }

    func load(_ range: Range<Int>) -> [Int] {
        range.map { load($0) }
    }

    /// The words `offset...` as a record of their own.
    func advanced(by offset: Int) -> SharedWords {
        SharedWords(base: base + offset)
    }
}
