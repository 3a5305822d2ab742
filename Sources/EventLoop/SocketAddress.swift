import CLinux
import Glibc

/// An IPv4 or IPv6 socket address held inline (no allocation).
public struct SocketAddress {
    public var storage = sockaddr_storage()
    public var length = socklen_t(0)

    public init() {}

    public var family: Int32 { Int32(storage.ss_family) }

    /// Parses a numeric IPv4 or IPv6 literal (no brackets) and a port.
    public init?(ip: String, port: UInt16) {
        var s = sockaddr_storage()
        let ok: Bool = withUnsafeMutablePointer(to: &s) { p in
            if ip.contains(":") {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                    sin6.pointee.sin6_port = port.bigEndian
                    return inet_pton(AF_INET6, ip, &sin6.pointee.sin6_addr) == 1
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                return inet_pton(AF_INET, ip, &sin.pointee.sin_addr) == 1
            }
        }
        guard ok else { return nil }
        storage = s
        length = socklen_t(ip.contains(":") ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    /// Resolves a host name or literal with getaddrinfo, at configuration load only.
    public static func resolve(host: String, port: UInt16) throws(SystemError) -> SocketAddress {
        if let literal = SocketAddress(ip: host, port: port) { return literal }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw SystemError("cannot resolve \"\(host)\": " + String(cString: gai_strerror(rc)), 0)
        }
        defer { freeaddrinfo(result) }
        var address = SocketAddress()
        withUnsafeMutableBytes(of: &address.storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        address.length = first.pointee.ai_addrlen
        return address
    }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 { return UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)) }
            return UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
    }

    /// The address as a 128-bit value, IPv4 mapped to ::ffff:a.b.c.d (for CIDR matching).
    public var mapped128: (high: UInt64, low: UInt64) {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                let high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                let low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
                return (high, low)
            }
            let v4 = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            return (0, 0x0000_FFFF_0000_0000 | UInt64(v4))
        }
    }

    /// Writes the numeric host (no port, no brackets; IPv4-mapped IPv6 shown as IPv4) into `out`;
    /// returns the length. `out` must hold at least 46 bytes.
    public func formatHost(into out: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        var s = storage
        return withUnsafeMutablePointer(to: &s) { p -> Int in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 -> Int in
                    let m = mapped128
                    if m.high == 0 && (m.low >> 32) == 0xFFFF {
                        var v4 = in_addr(s_addr: UInt32(truncatingIfNeeded: m.low).bigEndian)
                        guard inet_ntop(AF_INET, &v4, out, socklen_t(capacity)) != nil else { return 0 }
                        return strlen(out)
                    }
                    guard inet_ntop(AF_INET6, &sin6.pointee.sin6_addr, out, socklen_t(capacity)) != nil else { return 0 }
                    return strlen(out)
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin -> Int in
                guard inet_ntop(AF_INET, &sin.pointee.sin_addr, out, socklen_t(capacity)) != nil else { return 0 }
                return strlen(out)
            }
        }
    }

    /// The address without the port ("10.0.0.1", "::1").
    public var hostText: String {
        var buf = [CChar](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBufferPointer { formatHost(into: $0.baseAddress!, capacity: 64) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        family == AF_INET6 ? "[\(hostText)]:\(port)" : "\(hostText):\(port)"
    }
}
