/// An IP address and port carried by a PROXY protocol header: a plain value, no sockaddr.
public struct ProxyAddress: Hashable, Sendable {
    public enum Family: Sendable {
        case ipv4
        case ipv6
    }

    public let family: Family
    /// The IP, big-endian: IPv6 as 128 bits (high, then low); IPv4 as the low 32 bits of `low`,
    /// with `high` 0.
    public let high: UInt64
    public let low: UInt64
    public let port: UInt16

    public init(ipv4: UInt32, port: UInt16) {
        family = .ipv4
        high = 0
        low = UInt64(ipv4)
        self.port = port
    }

    public init(ipv6High high: UInt64, low: UInt64, port: UInt16) {
        family = .ipv6
        self.high = high
        self.low = low
        self.port = port
    }

    /// From a 128-bit address as `mapped128` gives it (and as sluice's SocketAddress does): an
    /// IPv4-mapped address (::ffff:a.b.c.d) becomes IPv4, anything else IPv6.
    public init(mapped high: UInt64, low: UInt64, port: UInt16) {
        if ProxyAddress.isIPv4Mapped(high: high, low: low) {
            self.init(ipv4: UInt32(truncatingIfNeeded: low), port: port)
        } else {
            self.init(ipv6High: high, low: low, port: port)
        }
    }

    /// The IP as 128 bits, IPv4 mapped to ::ffff:a.b.c.d (for CIDR matching, as trusted_proxies does).
    public var mapped128: (high: UInt64, low: UInt64) {
        family == .ipv4 ? (0, 0x0000_ffff_0000_0000 | low) : (high, low)
    }

    /// The same address with an IPv4-mapped IPv6 IP shown as IPv4.
    var unmapped: ProxyAddress { ProxyAddress(mapped: mapped128.high, low: mapped128.low, port: port) }

    static func isIPv4Mapped(high: UInt64, low: UInt64) -> Bool {
        high == 0 && low >> 32 == 0xffff
    }

    /// Longest text `writeIP` writes ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").
    public static let maxIPTextLength = 39

    /// Writes the IP as text for X-Forwarded-For, logs and the like: a dotted quad for IPv4 and for
    /// IPv4-mapped IPv6 (as sluice's SocketAddress.formatHost shows a peer), RFC 5952 text for any
    /// other IPv6. Returns the length, or nil when `buffer` is too short (39 bytes always do).
    public func writeIP(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var out = TextOutput(buffer)
        let plain = unmapped
        if plain.family == .ipv4 {
            out.ipv4(UInt32(truncatingIfNeeded: plain.low))
        } else {
            out.ipv6(high: plain.high, low: plain.low)
        }
        return out.length
    }
}
