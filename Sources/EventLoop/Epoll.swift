import CLinux
import Glibc

/// An epoll instance with an event array allocated once.
public final class Epoll {
    public let fd: Int32
    private let events: UnsafeMutablePointer<epoll_event>
    private let capacity: Int32

    public init(capacity: Int = 512) throws(SystemError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        if fd < 0 { throw SystemError("epoll_create1", errno) }
        self.fd = fd
        self.capacity = Int32(capacity)
        events = .allocate(capacity: capacity)
    }

    deinit {
        events.deallocate()
        Syscall.close(fd)
    }

    public func add(_ target: Int32, events mask: UInt32, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_ADD, target, mask, token)
    }

    /// Changes what is watched on a registered descriptor (DNS sockets switch between reading
    /// and writing as c-ares asks).
    public func modify(_ target: Int32, events mask: UInt32, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_MOD, target, mask, token)
    }

    public func remove(_ target: Int32) {
        var ev = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, target, &ev)
    }

    private func control(_ op: Int32, _ target: Int32, _ mask: UInt32, _ token: UInt64) throws(SystemError) {
        var ev = epoll_event()
        ev.events = mask
        ev.data.u64 = token
        if epoll_ctl(fd, op, target, &ev) != 0 { throw SystemError("epoll_ctl", errno) }
    }

    /// Waits for events; returns how many are ready (0 on timeout or EINTR).
    public func wait(timeoutMs: Int32) -> Int {
        let n = epoll_wait(fd, events, capacity, timeoutMs)
        return n < 0 ? 0 : Int(n)
    }

    @inline(__always)
    public func event(_ i: Int) -> (mask: UInt32, token: UInt64) {
        (events[i].events, events[i].data.u64)
    }
}

/// A failed system call with its errno, for set-up paths (not the per-request path).
public struct SystemError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public init(_ call: String, _ code: Int32) {
        self.call = call
        self.code = code
    }
    public var description: String { "\(call): \(Syscall.errorString(code))" }
}
