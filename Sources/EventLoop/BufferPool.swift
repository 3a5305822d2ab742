/// A byte buffer taken from a `BufferPool`: `[start, end)` holds bytes not yet consumed.
public struct Buffer {
    public var base: UnsafeMutableRawPointer?
    public var start = 0
    public var end = 0

    public init() {}

    @inline(__always) public var count: Int { end - start }
    @inline(__always) public var isEmpty: Bool { end == start }

    @inline(__always)
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { $0 + start }, count: end - start)
    }

    /// Moves unconsumed bytes to the front so that the free tail is as large as possible.
    public mutating func compact() {
        guard let base, start > 0 else { return }
        if end > start { base.copyMemory(from: base + start, byteCount: end - start) }
        end -= start
        start = 0
    }
}

/// A free list of equally sized buffers, one per worker: a steady-state request takes and returns
/// buffers here instead of calling malloc.
public final class BufferPool {
    public let size: Int
    private var free: [UnsafeMutableRawPointer] = []
    private let keep: Int

    public init(size: Int, keep: Int = 1024) {
        self.size = size
        self.keep = keep
        free.reserveCapacity(keep)
    }

    @inline(__always)
    public func take(_ buffer: inout Buffer) {
        if buffer.base != nil { return }
        buffer.base = free.popLast() ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        buffer.start = 0
        buffer.end = 0
    }

    @inline(__always)
    public func give(_ buffer: inout Buffer) {
        guard let base = buffer.base else { return }
        if free.count < keep { free.append(base) } else { base.deallocate() }
        buffer.base = nil
        buffer.start = 0
        buffer.end = 0
    }
}
