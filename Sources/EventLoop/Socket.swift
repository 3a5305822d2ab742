import CLinux
import Glibc

/// Socket set-up helpers (listeners, non-blocking connects, options).
public enum Socket {
    /// Opens a non-blocking listening socket bound to `address`; with `reusePort`, one of a
    /// SO_REUSEPORT group (see `listenGroup`).
    public static func listen(_ address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool = false) throws(SystemError) -> Int32 {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | SL_SOCK_NONBLOCK | SL_SOCK_CLOEXEC, 0)
        if fd < 0 { throw SystemError("socket", errno) }
        setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        if reusePort { setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
        if address.family == AF_INET6 { setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
        var a = address
        let rc = withUnsafePointer(to: &a.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, a.length) }
        }
        if rc != 0 {
            let e = errno
            Syscall.close(fd)
            throw SystemError("bind \(address.description)", e)
        }
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            Syscall.close(fd)
            throw SystemError("listen \(address.description)", e)
        }
        return fd
    }

    /// `count` listening sockets on one address, a SO_REUSEPORT group: the kernel spreads new
    /// connections over them by a hash of the peer's address and port, and each has its own
    /// accept queue. The address is first bound once without SO_REUSEPORT, so that an address
    /// someone else (another sluice included) already listens on is "in use" instead of being
    /// shared with them silently.
    public static func listenGroup(_ address: SocketAddress, count: Int) throws(SystemError) -> [Int32] {
        Syscall.close(try listen(address, backlog: 1))
        return try extendGroup([], on: address, to: count)
    }

    /// More sockets for a group, up to `count` in all.
    public static func extendGroup(_ group: [Int32], on address: SocketAddress, to count: Int) throws(SystemError) -> [Int32] {
        var fds = group
        do throws(SystemError) {
            while fds.count < count { fds.append(try listen(address, reusePort: true)) }
        } catch {
            for fd in fds[group.count...] { Syscall.close(fd) }
            throw error
        }
        return fds
    }

    public enum ConnectResult {
        case connected(Int32)
        case inProgress(Int32)
        case failed(Int32)
    }

    /// Starts a non-blocking connect.
    @inline(never)
    public static func connect(_ address: SocketAddress) -> ConnectResult {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | SL_SOCK_NONBLOCK | SL_SOCK_CLOEXEC, 0)
        if fd < 0 { return .failed(errno) }
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        var a = address
        while true {
            let rc = withUnsafePointer(to: &a.storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, a.length) }
            }
            if rc == 0 { return .connected(fd) }
            let e = errno
            if e == EINTR { continue }
            if e == EINPROGRESS { return .inProgress(fd) }
            Syscall.close(fd)
            return .failed(e)
        }
    }

    /// The pending error of a socket (SO_ERROR), 0 when the connect succeeded.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0 { return errno }
        return value
    }

    /// The address a socket is bound to (getsockname); nil on error.
    public static func localAddress(_ fd: Int32) -> SocketAddress? {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &address.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &address.length) }
        }
        return rc == 0 ? address : nil
    }

    public static func setNoDelay(_ fd: Int32) {
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }
}
