/// A range of arena bytes.
struct Span: Equatable, Sendable {
    var start: Int32 = 0
    var count: Int32 = 0

    var isEmpty: Bool { count == 0 }
    var end: Int { Int(start) + Int(count) }

    mutating func shift(back delta: Int) {
        start -= Int32(delta)
    }
}

/// The bytes of the header blocks decoded in one `receive`: pseudo-header values and HTTP/1.1 field
/// lines, referenced by the events until the next `receive`. Its memory is taken from a pool
/// while the connection decodes and given back when it is idle (`H2Connection.releaseIdleMemory`),
/// so an idle connection holds none.
struct Arena {
    private(set) var base: UnsafeMutableRawPointer?
    let capacity: Int
    private(set) var used = 0

    init(capacity: Int) {
        precondition(capacity > 0 && capacity <= Int(Int32.max), "arena capacity out of range")
        self.capacity = capacity
    }

    /// Takes memory from `pool` unless it has some.
    mutating func attach(_ pool: H2MemoryPool) {
        if base == nil { base = pool.take() }
    }

    /// Gives the memory back to `pool`; the arena must hold nothing.
    mutating func detach(to pool: H2MemoryPool) {
        precondition(used == 0, "detaching an arena that holds bytes")
        if let base { pool.give(base) }
        base = nil
    }

    var free: Int { capacity - used }

    /// Appends `bytes`; false (and nothing written) when they do not fit.
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        guard n <= capacity - used else { return false }
        if n > 0 { (base! + used).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        used += n
        return true
    }

    @inline(__always)
    mutating func append(_ s: StaticString) -> Bool {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Appends `bytes` and returns where they went, or nil when they do not fit.
    mutating func store(_ bytes: UnsafeRawBufferPointer) -> Span? {
        let start = used
        guard append(bytes) else { return nil }
        return Span(start: Int32(start), count: Int32(bytes.count))
    }

    /// Forgets the bytes from `offset` on.
    mutating func truncate(to offset: Int) {
        used = offset
    }

    func bytes(_ span: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { $0 + Int(span.start) }, count: Int(span.count))
    }

    /// Drops everything before `keepFrom` (the bytes of a header block still being decoded move to
    /// the start); returns how far they moved.
    mutating func discard(before keepFrom: Int) -> Int {
        let kept = used - keepFrom
        if kept > 0 && keepFrom > 0 { base!.copyMemory(from: base! + keepFrom, byteCount: kept) }
        used = kept
        return keepFrom
    }
}

/// Blocks of one size for arenas, shared by the connections of one thread (a worker): a steady
/// state takes and gives back without allocating. Not thread-safe.
public final class H2MemoryPool {
    public let blockSize: Int
    private var free: [UnsafeMutableRawPointer] = []

    public init(blockSize: Int) {
        self.blockSize = blockSize
    }

    deinit {
        for block in free { block.deallocate() }
    }

    func take() -> UnsafeMutableRawPointer {
        free.popLast() ?? .allocate(byteCount: blockSize, alignment: 8)
    }

    func give(_ block: UnsafeMutableRawPointer) {
        free.append(block)
    }
}
