import CLinux
import EventLoop
import TLS

/// One side of a proxied connection — the client's or an upstream's — written once for both:
/// a non-blocking socket, TLS when the side has it, and what epoll last said about it.
///
/// Sockets are edge-triggered, so readiness is remembered here until a call shows it is gone:
/// - a plain read that returns fewer bytes than asked has emptied the socket (EPOLLRDHUP tells
///   of a FIN separately), so it clears `readable` without the extra read that would only say
///   EAGAIN; a short plain write likewise clears `writable`;
/// - TLS readiness follows what OpenSSL wants: a read that needs the socket writable (or a
///   write that needs it readable) waits for that event, and only that event revives it.
struct Endpoint {
    private(set) var fd: Int32 = -1
    private(set) var tls: TLSConnection?
    var readable = false
    var writable = false
    /// The peer will send nothing more (EPOLLRDHUP, HUP or ERR seen): what is queued is all.
    private var peerClosed = false
    /// A read returned end of stream: nothing more will come from this side.
    private(set) var eof = false
    /// Our write side was shut down (half-close passed on in a tunnel).
    private(set) var shut = false
    private var readWaitsForWritable = false
    private var writeWaitsForReadable = false
    /// The last handshake step asked for writability rather than readability.
    private var handshakeWantsWrite = false

    init() {}

    init(fd: Int32, writable: Bool) {
        self.fd = fd
        self.writable = writable
    }

    var isOpen: Bool { fd >= 0 }

    /// Takes in what epoll reported for this descriptor.
    @inline(__always)
    mutating func note(_ mask: UInt32) {
        let closing = mask & (SL_EPOLLRDHUP | SL_EPOLLHUP | SL_EPOLLERR) != 0
        if closing { peerClosed = true }
        if closing || mask & SL_EPOLLIN != 0 {
            readable = true
            if writeWaitsForReadable { writable = true }
        }
        if mask & (SL_EPOLLOUT | SL_EPOLLHUP | SL_EPOLLERR) != 0 {
            writable = true
            if readWaitsForWritable { readable = true }
        }
    }

    /// Reads up to `count` bytes. Sets `eof` on end of stream (also right after the last
    /// bytes, when the peer's FIN was already seen); `.failed` means the connection is broken.
    @inline(__always)
    mutating func read(_ pointer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        guard let tls else {
            let result = Syscall.read(fd, pointer, count)
            switch result {
            case .bytes(let n):
                if n < count {
                    readable = false
                    eof = peerClosed
                }
            case .wouldBlock:
                readable = false
            case .endOfFile:
                eof = true
            case .failed:
                break
            }
            return result
        }
        let result = tls.read(pointer, count)
        switch result {
        case .wouldBlock:
            readable = false
            readWaitsForWritable = tls.wantsWrite
        case .endOfFile:
            eof = true
        case .bytes, .failed:
            readWaitsForWritable = false
        }
        return result
    }

    /// Writes `first` then `second` (a head and body bytes) in one call where possible; returns
    /// how many bytes went. Through TLS, two small regions are joined in `scratch` so that they
    /// leave as one record; a retry after `.wouldBlock` offers the same bytes again, as OpenSSL
    /// requires (the caller's pending bytes do not change until written).
    @inline(__always)
    mutating func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                        scratch: UnsafeMutableRawBufferPointer) -> IOResult {
        guard let tls else {
            let result = Syscall.write(fd, first, second)
            switch result {
            case .bytes(let n): if n < first.count + second.count { writable = false }
            case .wouldBlock: writable = false
            case .endOfFile, .failed: break
            }
            return result
        }
        let result = Endpoint.write(tls, first, second, scratch: scratch)
        switch result {
        case .wouldBlock:
            writable = false
            writeWaitsForReadable = !tls.wantsWrite
        default:
            writeWaitsForReadable = false
        }
        return result
    }

    private static func write(_ tls: TLSConnection, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                              scratch: UnsafeMutableRawBufferPointer) -> IOResult {
        if !first.isEmpty && !second.isEmpty && first.count + second.count <= scratch.count {
            scratch.baseAddress!.copyMemory(from: first.baseAddress!, byteCount: first.count)
            (scratch.baseAddress! + first.count).copyMemory(from: second.baseAddress!, byteCount: second.count)
            return tls.write(UnsafeRawBufferPointer(rebasing: scratch[0..<(first.count + second.count)]))
        }
        var written = 0
        if !first.isEmpty {
            switch tls.write(first) {
            case .bytes(let n):
                written = n
                if n < first.count { return .bytes(n) }
            case let other:
                return other
            }
        }
        if second.isEmpty { return .bytes(written) }
        switch tls.write(second) {
        case .bytes(let n): return .bytes(written + n)
        case let other: return written > 0 ? .bytes(written) : other
        }
    }

    /// Whether a handshake step could make progress now.
    var canHandshake: Bool { handshakeWantsWrite ? writable : readable || writable }

    /// One step of the TLS handshake (`.done` at once without TLS).
    mutating func handshake() -> TLSStep {
        guard let tls else { return .done }
        let step = tls.handshake()
        switch step {
        case .wantRead: readable = false; handshakeWantsWrite = false
        case .wantWrite: writable = false; handshakeWantsWrite = true
        case .done, .failed: break
        }
        return step
    }

    enum FirstByte { case tls, plain, notYet, closed }

    /// What the client's first byte says: a TLS record (a handshake starts with 0x16) or plain
    /// text. Read without consuming it, before OpenSSL reads anything, so that a plain-HTTP
    /// request on a TLS listener is answered in plain text instead of failing the handshake.
    mutating func sniffFirstByte() -> FirstByte {
        var byte: UInt8 = 0
        let result = withUnsafeMutableBytes(of: &byte) { peek(into: $0) }
        switch result {
        case .bytes: return byte == 0x16 ? .tls : .plain
        case .wouldBlock: return .notYet
        case .endOfFile, .failed: return .closed
        }
    }

    /// The bytes waiting on the socket, left for the next read (the PROXY protocol header is
    /// taken this way, so that nothing after it is read before TLS starts).
    mutating func peek(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let result = Syscall.peek(fd, into: buffer)
        if result == .wouldBlock { readable = false }
        return result
    }

    /// Gives up TLS on a connection that turned out to speak plain text.
    mutating func dropTLS() {
        tls?.free()
        tls = nil
    }

    /// Starts TLS on a connected socket (a TLS listener's client, the upstream side of a `tls` server).
    mutating func startTLS(_ connection: TLSConnection) {
        tls = connection
    }

    /// Passes a half-close on: close_notify through TLS, else shutdown(SHUT_WR).
    mutating func shutdownWrite() {
        guard !shut else { return }
        if let tls { tls.shutdown() } else { Syscall.shutdownWrite(fd) }
        shut = true
    }

    /// Frees TLS (after a best-effort close_notify when `notify`) and hands the descriptor back;
    /// the endpoint is closed afterwards.
    mutating func release(notify: Bool = true) -> Int32 {
        if let tls {
            if notify { tls.shutdown() }
            tls.free()
        }
        let released = fd
        self = Endpoint()
        return released
    }
}
