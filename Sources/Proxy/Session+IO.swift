import EventLoop
import TLS

/// Reads and writes on either side, through TLS when the side has a TLS connection.
extension Session {
    @inline(__always)
    func readClient(_ pointer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        if let tls = clientTLS { return tls.read(pointer, count) }
        return Syscall.read(clientFD, pointer, count)
    }

    @inline(__always)
    func readUpstream(_ pointer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        if let tls = upstreamTLS { return tls.read(pointer, count) }
        return Syscall.read(upstreamFD, pointer, count)
    }

    @inline(__always)
    func writeClient(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        if let tls = clientTLS { return Session.write(tls, first, second) }
        return Syscall.write(clientFD, first, second)
    }

    @inline(__always)
    func writeUpstream(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        if let tls = upstreamTLS { return Session.write(tls, first, second) }
        return Syscall.write(upstreamFD, first, second)
    }

    /// Two regions through TLS: the second is written only once the first is fully taken. A
    /// retry after `.wouldBlock` offers the same bytes again, as OpenSSL requires.
    private static func write(_ tls: TLSConnection, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
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
        case .wouldBlock: return written > 0 ? .bytes(written) : .wouldBlock
        case let other: return written > 0 ? .bytes(written) : other
        }
    }

    /// A TLS handshake with the client, bounded by `timeout header` (set when the connection
    /// was accepted).
    func stepHandshake() -> Bool {
        guard let tls = clientTLS else {
            state = .head
            return true
        }
        switch tls.handshake() {
        case .done:
            state = .head
            return true
        case .wantRead:
            clientReadable = false
            return false
        case .wantWrite:
            clientWritable = false
            return false
        case .failed:
            worker.logger.debug("TLS handshake with \(String(cString: peerText)) failed")
            close()
            return false
        }
    }

    /// Frees the TLS state of a side (after a best-effort close_notify).
    func dropClientTLS() {
        guard let tls = clientTLS else { return }
        tls.shutdown()
        tls.free()
        clientTLS = nil
    }
}
