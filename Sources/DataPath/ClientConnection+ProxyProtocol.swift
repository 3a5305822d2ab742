import EventLoop
import Glibc
import ProxyProtocol

/// `listen ... proxy_protocol`: the connection opens with a PROXY protocol header (v1 or v2)
/// whose source stands for the client. It is peeked at, not read, until it is whole, then
/// exactly its bytes are taken, so what follows (a TLS ClientHello, a request) is untouched.
extension ClientConnection {
    func stepProxyHeader() -> Bool {
        guard endpoint.readable else { return false }
        var outcome = ProxyParseResult.needMore
        let peeked = withUnsafeTemporaryAllocation(byteCount: ProxyHeaderParser.maxV2Length, alignment: 8) { buffer -> IOResult in
            let result = endpoint.peek(into: buffer)
            if case .bytes(let n) = result { outcome = ProxyHeaderParser.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
            return result
        }
        switch peeked {
        case .wouldBlock:
            return false
        case .endOfFile, .failed:
            close()
            return false
        case .bytes(let n):
            switch outcome {
            case .needMore:
                // Nothing more is coming when the peer already closed; else wait for more bytes.
                if n >= ProxyHeaderParser.maxV2Length { return refuseProxyHeader("header too long") }
                endpoint.readable = false
                return false
            case .invalid(let reason):
                return refuseProxyHeader(reason.description)
            case .header(let length, let source, let destination):
                guard takeHeader(length) else { return refuseProxyHeader("the header could not be read") }
                if let source, let destination {
                    let client = SocketAddress(source)
                    peerAddress = source
                    peer = AddressText(client)
                    trusted = frontend.trusts(client)
                    proxiedDestination = destination
                }
                phase = .handshake
                startTLS()
                return true
            }
        }
    }

    /// Reads exactly the header's bytes (they are all there: they were peeked at).
    private func takeHeader(_ length: Int) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: length, alignment: 8) { buffer in
            var taken = 0
            while taken < length {
                guard case .bytes(let n) = Syscall.read(endpoint.fd, buffer.baseAddress! + taken, length - taken) else { return false }
                taken += n
            }
            return true
        }
    }

    private func refuseProxyHeader(_ reason: String) -> Bool {
        loop.logger.info("closing a connection from \(peer.string) on a proxy_protocol listener: \(reason)")
        close()
        return false
    }

    /// The address the client connected to: the PROXY header's destination, else the socket's.
    var destinationAddress: ProxyAddress {
        if let proxiedDestination { return proxiedDestination }
        return (Socket.localAddress(endpoint.fd) ?? SocketAddress()).proxyAddress
    }
}

extension SocketAddress {
    /// The socket address of a PROXY protocol header's address.
    init(_ p: ProxyAddress) {
        self.init()
        withUnsafeMutableBytes(of: &storage) { raw in
            if p.family == .ipv4 {
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = p.port.bigEndian
                sin.sin_addr.s_addr = UInt32(truncatingIfNeeded: p.low).bigEndian
                withUnsafeBytes(of: &sin) { raw.copyMemory(from: $0) }
            } else {
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = p.port.bigEndian
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { a in
                    a.storeBytes(of: p.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                    a.storeBytes(of: p.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                }
                withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) }
            }
        }
        length = socklen_t(p.family == .ipv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    /// As a PROXY protocol header carries it.
    var proxyAddress: ProxyAddress {
        let m = mapped128
        return ProxyAddress(mapped: m.high, low: m.low, port: port)
    }
}
