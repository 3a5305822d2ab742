// Where an engine's long-lived memory comes from. nghttp2 allocates about 25 KB when a session
// starts and keeps it for the session's life (a 16 KiB outbound frame buffer, the stream map, HPACK
// tables); the engine adds its stream table and header list. All of that is freed whenever an idle
// connection sleeps. From malloc's heap it would mostly stay resident: the few hundred bytes each
// sleeping connection keeps lie between those blocks. So the blocks an engine allocates while it
// starts come from one mapping of its own, unmapped with the engine; later blocks (per stream, per
// frame: short-lived) come from malloc.

import CNGHTTP2
import Glibc

final class EngineMemory {
    /// Virtual size of the mapping; only the pages touched are resident.
    static let regionSize = 48 * 1024
    /// Every block starts with a header: whether it lies in the region (else it was malloc'd),
    /// then the size asked for. 16 bytes keep blocks as aligned as malloc's.
    private static let header = 16

    private let base: UnsafeMutableRawPointer?
    private var used = 0
    /// Blocks are placed in the region until the engine has started.
    var placing = true
    /// Given to nghttp2 (which copies it), with this object as its user data.
    var allocator = nghttp2_mem(
        mem_user_data: nil,
        malloc: { size, user in EngineMemory.with(user) { $0.allocate(size) } },
        free: { ptr, _ in EngineMemory.release(ptr) },
        calloc: { count, size, user in EngineMemory.with(user) { $0.allocateZeroed(count, size) } },
        realloc: { ptr, size, user in EngineMemory.with(user) { $0.reallocate(ptr, size) } })

    init() {
        let p = mmap(nil, Self.regionSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        base = p == MAP_FAILED ? nil : p
        allocator.mem_user_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        if let base { munmap(base, Self.regionSize) }
    }

    /// Borrowed for the call: `takeUnretainedValue()` would cost a retain and a release on each.
    private static func with<R>(_ user: UnsafeMutableRawPointer?, _ body: (EngineMemory) -> R) -> R {
        Unmanaged<EngineMemory>.fromOpaque(user!)._withUnsafeGuaranteedRef(body)
    }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let total = (size + Self.header + 15) & ~15
        let block: UnsafeMutableRawPointer
        var inRegion = 0
        if placing, let base, used + total <= Self.regionSize {
            block = base + used
            used += total
            inRegion = 1
        } else {
            guard let p = malloc(size + Self.header) else { return nil }
            block = p
        }
        block.storeBytes(of: inRegion, as: Int.self)
        block.storeBytes(of: size, toByteOffset: 8, as: Int.self)
        return block + Self.header
    }

    /// Typed storage for the engine's own tables.
    func allocate<T>(_ type: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        guard let p = allocate(MemoryLayout<T>.stride * capacity) else { fatalError("out of memory") }
        return p.bindMemory(to: T.self, capacity: capacity)
    }

    /// Frees a block from `allocate`; a block in the region goes with the region.
    static func release(_ ptr: UnsafeMutableRawPointer?) {
        guard let ptr else { return }
        let block = ptr - header
        if block.load(as: Int.self) == 0 { free(block) }
    }

    static func release<T>(_ ptr: UnsafeMutablePointer<T>) {
        release(UnsafeMutableRawPointer(ptr))
    }

    private func allocateZeroed(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer? {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, let p = allocate(total) else { return nil }
        memset(p, 0, total)
        return p
    }

    private func reallocate(_ ptr: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let ptr else { return allocate(size) }
        let old = (ptr - Self.header).load(fromByteOffset: 8, as: Int.self)
        guard let p = allocate(size) else { return nil }
        p.copyMemory(from: ptr, byteCount: min(old, size))
        Self.release(ptr)
        return p
    }
}
