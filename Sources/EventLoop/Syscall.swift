import CLinux
import Glibc

/// Outcome of a non-blocking read or write. EAGAIN is a normal result, not an error.
public enum IOResult: Equatable {
    case bytes(Int)
    case wouldBlock
    case endOfFile
    case failed(Int32)
}

/// Thin wrappers in the manner of SwiftNIO's System.swift: errno is read right after the call,
/// EINTR is retried, EAGAIN becomes `.wouldBlock`.
public enum Syscall {
    @inline(never)
    public static func read(_ fd: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        while true {
            if let result = received(Glibc.read(fd, pointer, count)) { return result }
        }
    }

    /// What a read or recv returned, nil for EINTR (call again).
    @inline(__always)
    private static func received(_ n: Int) -> IOResult? {
        if n > 0 { return .bytes(n) }
        if n == 0 { return .endOfFile }
        let e = errno
        if e == EINTR { return nil }
        if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
        return .failed(e)
    }

    /// Writes up to two regions with one writev call (a rewritten head and the start of a body).
    @inline(never)
    public static func write(_ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        var iov = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count))
        let start = first.count == 0 ? 1 : 0
        let count: Int32 = (first.count > 0 ? 1 : 0) + (second.count > 0 ? 1 : 0)
        if count == 0 { return .bytes(0) }
        while true {
            let n = withUnsafeMutableBytes(of: &iov) { raw -> Int in
                let vectors = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
                return Glibc.writev(fd, vectors + start, count)
            }
            if n >= 0 { return .bytes(n) }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            return .failed(e)
        }
    }

    @inline(never)
    public static func accept(_ fd: Int32, into address: inout SocketAddress) -> IOResult {
        while true {
            address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &address.storage) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sl_accept4(fd, sa, &address.length, SL_SOCK_NONBLOCK | SL_SOCK_CLOEXEC)
                }
            }
            if n >= 0 { return .bytes(Int(n)) }
            let e = errno
            if e == EINTR || e == ECONNABORTED { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            return .failed(e)
        }
    }

    /// The bytes waiting on a socket, left in place (recv with MSG_PEEK).
    @inline(never)
    public static func peek(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            if let result = received(recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK))) { return result }
        }
    }

    public static func close(_ fd: Int32) {
        // Linux closes the descriptor even when close reports EINTR, so it is never retried.
        _ = Glibc.close(fd)
    }

    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    public static func errorString(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
