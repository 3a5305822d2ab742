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
        if let tls = clientTLS { return write(tls, first, second) }
        return Syscall.write(clientFD, first, second)
    }

    @inline(__always)
    func writeUpstream(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        if let tls = upstreamTLS { return write(tls, first, second) }
        return Syscall.write(upstreamFD, first, second)
    }

    /// Two regions through TLS. When both are small they are copied together so that a head and
    /// a short body leave as one TLS record (one write); otherwise the second is written once
    /// the first is fully taken. A retry after `.wouldBlock` offers the same bytes again, as
    /// OpenSSL requires (pending bytes do not change until written, so the copy is the same).
    private func write(_ tls: TLSConnection, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        let scratch = worker.tlsScratch
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
