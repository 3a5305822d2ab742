/// What each descriptor of one event loop is, indexed by fd. epoll carries
/// `generation << 32 | fd`, so an event queued for a descriptor that was closed (and perhaps
/// reused) earlier in the same batch no longer matches and is ignored.
///
/// A flat table: a dictionary lookup costs about 15x a flat index. `Role` is the loop's own
/// enum of descriptor kinds; `owner` is whatever index the loop gives it (a connection id, a
/// listener or check number). Inlinable, so that each loop gets a copy specialized for its
/// `Role`: unspecialized, every event looked up generic metadata at run time (1% of a worker's CPU).
public struct TokenRegistry<Role> {
    public struct Slot {
        public var generation: UInt32 = 0
        public var role: Role?
        public var owner: Int32 = -1

        @inlinable
        init() {}
    }

    @usableFromInline
    var slots: [Slot] = Array(repeating: Slot(), count: 1024)

    @inlinable
    public init() {}

    /// Claims `fd` for a role and owner; returns the epoll token to register it with.
    @inlinable @inline(__always)
    public mutating func claim(_ fd: Int32, role: Role, owner: Int32) -> UInt64 {
        let i = Int(fd)
        if i >= slots.count { slots.append(contentsOf: repeatElement(Slot(), count: max(i + 1 - slots.count, slots.count))) }
        slots[i].generation &+= 1
        slots[i].role = role
        slots[i].owner = owner
        return token(fd)
    }

    /// Changes what a registered fd is without touching epoll (a pooled connection changing hands).
    @inlinable @inline(__always)
    public mutating func reassign(_ fd: Int32, role: Role, owner: Int32) {
        slots[Int(fd)].role = role
        slots[Int(fd)].owner = owner
    }

    /// The token `fd` is registered with.
    @inlinable @inline(__always)
    public func token(_ fd: Int32) -> UInt64 {
        UInt64(slots[Int(fd)].generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// Forgets `fd` (call before closing it): events still queued for it stop matching.
    @inlinable @inline(__always)
    public mutating func release(_ fd: Int32) {
        guard fd >= 0, Int(fd) < slots.count else { return }
        slots[Int(fd)].generation &+= 1
        slots[Int(fd)].role = nil
        slots[Int(fd)].owner = -1
    }

    /// The descriptor and its slot when `token` is still current, else nil.
    @inlinable @inline(__always)
    public func matches(_ token: UInt64) -> (fd: Int32, slot: Slot)? {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard fd >= 0, Int(fd) < slots.count, slots[Int(fd)].generation == generation, slots[Int(fd)].role != nil else { return nil }
        return (fd, slots[Int(fd)])
    }
}
