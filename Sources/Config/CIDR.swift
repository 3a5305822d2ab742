/// An address range for `allow` and `trusted_proxies`.
///
/// Addresses are 128-bit big-endian values split into two halves; IPv4 is stored IPv4-mapped
/// (`::ffff:a.b.c.d`) with its prefix length plus 96, so an IPv4 range also matches peers that an
/// IPv6 socket reports in mapped form.
public struct CIDR: Equatable, Sendable {
    public var high: UInt64
    public var low: UInt64
    /// 0...128; an IPv4 `/n` is stored as `n + 96`.
    public var prefixLength: Int

    /// `a.b.c.d/n`, `IPv6/n`, or a bare address (a single host). Host bits are cleared.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        let address: (high: UInt64, low: UInt64)
        let maxPrefix: Int
        if let v4 = IPAddress.parseIPv4(addressText) {
            address = CIDR.mapped(ipv4: v4)
            maxPrefix = 32
        } else if let v6 = IPAddress.parseIPv6(addressText) {
            address = v6
            maxPrefix = 128
        } else {
            return nil
        }
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let n = Values.number(String(parts[1])), n <= maxPrefix else { return nil }
            prefix = n
        }
        prefixLength = prefix + 128 - maxPrefix
        let mask = CIDR.mask(prefixLength)
        high = address.high & mask.high
        low = address.low & mask.low
    }

    /// Whether an address, in the same mapped 128-bit form, lies in the range.
    public func contains(high: UInt64, low: UInt64) -> Bool {
        let mask = CIDR.mask(prefixLength)
        return high & mask.high == self.high && low & mask.low == self.low
    }

    /// `::ffff:a.b.c.d` for an IPv4 address given in host byte order.
    public static func mapped(ipv4 hostOrder: UInt32) -> (high: UInt64, low: UInt64) {
        (0, 0x0000_ffff_0000_0000 | UInt64(hostOrder))
    }

    private static func mask(_ prefix: Int) -> (high: UInt64, low: UInt64) {
        let high: UInt64 = prefix >= 64 ? ~0 : (prefix == 0 ? 0 : ~0 << (64 - prefix))
        let low: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? ~0 : ~0 << (128 - prefix))
        return (high, low)
    }
}
