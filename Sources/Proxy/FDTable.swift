/// What an fd is to the worker. epoll carries `generation << 32 | fd`, so an event that was
/// queued for a descriptor closed (and perhaps reused) earlier in the same batch is ignored.
enum FDRole: UInt8 {
    case free, listener, client, upstream, idleUpstream, signal
}

struct FDSlot {
    var generation: UInt32 = 0
    var role: FDRole = .free
    /// Session id for client/upstream, listener index, or backend << 16 | server for idle ones.
    var owner: Int32 = -1
}

/// A flat table indexed by fd (DESIGN: a dictionary lookup costs ~15x a flat index).
struct FDTable {
    private var slots: [FDSlot] = Array(repeating: FDSlot(), count: 1024)

    @inline(__always)
    subscript(fd: Int32) -> FDSlot {
        get { Int(fd) < slots.count ? slots[Int(fd)] : FDSlot() }
    }

    /// Claims `fd` for a role; returns the epoll token.
    @inline(__always)
    mutating func claim(_ fd: Int32, role: FDRole, owner: Int32) -> UInt64 {
        let i = Int(fd)
        if i >= slots.count { slots.append(contentsOf: repeatElement(FDSlot(), count: max(i + 1 - slots.count, slots.count))) }
        slots[i].generation &+= 1
        slots[i].role = role
        slots[i].owner = owner
        return UInt64(slots[i].generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// Changes the owner of a registered fd without touching epoll (pool check-in and check-out).
    @inline(__always)
    mutating func reassign(_ fd: Int32, role: FDRole, owner: Int32) {
        slots[Int(fd)].role = role
        slots[Int(fd)].owner = owner
    }

    @inline(__always)
    func token(_ fd: Int32) -> UInt64 {
        UInt64(slots[Int(fd)].generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    @inline(__always)
    mutating func release(_ fd: Int32) {
        slots[Int(fd)].generation &+= 1
        slots[Int(fd)].role = .free
        slots[Int(fd)].owner = -1
    }

    @inline(__always)
    func matches(_ token: UInt64) -> (fd: Int32, slot: FDSlot)? {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard Int(fd) < slots.count, slots[Int(fd)].generation == generation else { return nil }
        return (fd, slots[Int(fd)])
    }
}
