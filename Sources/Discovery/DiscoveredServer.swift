import Glibc

/// One server found by discovery: an address and port, with what SRV says about it.
public struct DiscoveredServer: Hashable, Sendable, CustomStringConvertible {
    /// 4 (IPv4) or 16 (IPv6) bytes, network order.
    public let ip: [UInt8]
    public let port: UInt16
    /// The SRV weight as published (0...65535). A/AAAA carry none: 1, and the master keeps the
    /// `server` line's own weight.
    public let weight: Int
    /// The SRV priority (lower is preferred); 0 for A/AAAA.
    public let priority: Int
    /// True when the same answer has servers of a lower priority: SRV's fallback servers, which
    /// map to sluice's `backup` (used only when no primary server is up).
    public let backup: Bool
    /// "ip:port" or "[ip6]:port": the identity the master diffs old and new lists on.
    public let address: String

    public init(ip: [UInt8], port: UInt16, weight: Int = 1, priority: Int = 0, backup: Bool = false) {
        precondition(ip.count == 4 || ip.count == 16, "an IPv4 or IPv6 address")
        self.ip = ip
        self.port = port
        self.weight = weight
        self.priority = priority
        self.backup = backup
        address = ip.count == 4 ? "\(DiscoveredServer.text(ip)):\(port)" : "[\(DiscoveredServer.text(ip))]:\(port)"
    }

    public var description: String { address }

    /// The order of every list this module hands out: IPv4 before IPv6, then by address bytes,
    /// then by port. Numeric rather than textual so that 10.0.0.9 comes before 10.0.0.10.
    static func inOrder(_ a: DiscoveredServer, _ b: DiscoveredServer) -> Bool {
        if a.ip.count != b.ip.count { return a.ip.count < b.ip.count }
        if a.ip != b.ip { return a.ip.lexicographicallyPrecedes(b.ip) }
        return a.port < b.port
    }

    private static func text(_ ip: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = ip.count == 4 ? AF_INET : AF_INET6
        _ = inet_ntop(family, ip, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
