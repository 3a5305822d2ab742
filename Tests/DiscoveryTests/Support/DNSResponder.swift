import CLinux
import EventLoop
import Glibc

/// A DNS server for the tests on a loopback port, UDP and TCP, answering from `records` (see
/// `respond(to:)`). Its sockets sit in an epoll set of its own whose descriptor, `fd`, the test
/// loop polls next to the resolver's sockets; `serve()` then handles whatever is ready.
final class DNSResponder {
    static let nxdomain: UInt8 = 3
    static let serverFailure: UInt8 = 2
    static let refused: UInt8 = 5

    /// The descriptor for the test loop to poll (readable when any responder socket is).
    var fd: Int32 { poller.fd }
    let port: UInt16
    /// "127.0.0.1:PORT" or "[::1]:PORT", for `Resolver(server:)`.
    let address: String
    var records: [WireRecord] = []
    /// Names answered with this rcode and nothing else.
    var rcodes: [String: UInt8] = [:]
    /// Names whose queries get no answer (the resolver times out).
    var silent: Set<String> = []
    /// Whether SRV answers carry their targets' A/AAAA records in the additional section.
    var additionalForSRV = true
    /// Every query received, in order.
    var queries: [(name: String, type: UInt16, tcp: Bool)] = []

    private let poller: Epoll
    private let udp: Int32
    private let listener: Int32
    /// Bytes received so far on each accepted TCP connection.
    private var connections: [Int32: [UInt8]] = [:]
    private static let udpToken: UInt64 = 1 << 32
    private static let listenerToken: UInt64 = 2 << 32

    init(ipv6: Bool = false) throws {
        poller = try Epoll(capacity: 16)
        // The TCP port must equal the UDP one; an ephemeral UDP port may be taken for TCP.
        var attempt = 0
        while true {
            let udp = try DNSResponder.socket(ipv6: ipv6, type: SOCK_DGRAM, port: 0)
            let port = DNSResponder.localPort(udp)
            if let listener = try? DNSResponder.socket(ipv6: ipv6, type: SOCK_STREAM, port: port) {
                (self.udp, self.listener, self.port) = (udp, listener, port)
                break
            }
            close(udp)
            attempt += 1
            guard attempt < 20 else { throw ResponderError.setup("no port free for both UDP and TCP", 0) }
        }
        address = ipv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)"
        try poller.add(udp, events: SL_EPOLLIN, token: DNSResponder.udpToken)
        try poller.add(listener, events: SL_EPOLLIN, token: DNSResponder.listenerToken)
    }

    deinit {
        for c in connections.keys { close(c) }
        close(udp)
        close(listener)
    }

    enum ResponderError: Error { case setup(String, Int32) }

    func remove(_ name: String, type: UInt16? = nil) {
        records.removeAll { $0.name == name && (type == nil || $0.type == type) }
    }

    /// Answers every query waiting on the responder's sockets.
    func serve() {
        let n = poller.wait(timeoutMs: 0)
        let ready = (0..<n).map { poller.event($0).token }
        for token in ready {
            switch token {
            case DNSResponder.udpToken: serveUDP()
            case DNSResponder.listenerToken: acceptAll()
            default: serveTCP(Int32(token))
            }
        }
    }

    private func serveUDP() {
        var buffer = [UInt8](repeating: 0, count: 1500)
        while true {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            if n <= 0 { return }
            guard let reply = respond(to: Array(buffer[0..<n]), tcp: false) else { continue }
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, reply, reply.count, 0, $0, peerLength) }
            }
        }
    }

    private func acceptAll() {
        while true {
            let c = sl_accept4(listener, nil, nil, Int32(SOCK_NONBLOCK.rawValue))
            if c < 0 { return }
            connections[c] = []
            try! poller.add(c, events: SL_EPOLLIN, token: UInt64(c))
        }
    }

    /// TCP messages are framed by a two-byte length (RFC 1035 4.2.2); replies are small enough
    /// for one write.
    private func serveTCP(_ c: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(c, &buffer, buffer.count)
        if n == 0 || (n < 0 && errno != EAGAIN) {
            poller.remove(c)
            close(c)
            connections[c] = nil
            return
        }
        guard n > 0 else { return }
        connections[c, default: []] += buffer[0..<n]
        while let pending = connections[c], pending.count >= 2 {
            let length = Int(pending[0]) << 8 | Int(pending[1])
            guard pending.count >= 2 + length else { return }
            connections[c] = Array(pending[(2 + length)...])
            guard let reply = respond(to: Array(pending[2..<(2 + length)]), tcp: true) else { continue }
            let framed = DNSWire.u16(UInt16(reply.count)) + reply
            _ = write(c, framed, framed.count)
        }
    }

    private static func socket(ipv6: Bool, type: __socket_type, port: UInt16) throws -> Int32 {
        let fd = Glibc.socket(ipv6 ? AF_INET6 : AF_INET, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ResponderError.setup("socket", errno) }
        var storage = sockaddr_storage()
        let length = socklen_t(ipv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        withUnsafeMutableBytes(of: &storage) { raw in
            if ipv6 {
                let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                sin6.pointee.sin6_port = port.bigEndian
                sin6.pointee.sin6_addr = in6addr_loopback
            } else {
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                sin.pointee.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
            }
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, type != SOCK_STREAM || listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw ResponderError.setup("bind", code)
        }
        return fd
    }

    private static func localPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
    }
}
