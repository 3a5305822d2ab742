#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// IP literal parsing through `inet_pton`, so that exactly the forms the socket layer accepts are valid.
enum IPAddress {
    /// An IPv4 dotted quad, in host byte order.
    static func parseIPv4(_ text: String) -> UInt32? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }

    /// An IPv6 literal (without brackets) as a 128-bit big-endian value.
    static func parseIPv6(_ text: String) -> (high: UInt64, low: UInt64)? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { bytes in
            var high: UInt64 = 0
            var low: UInt64 = 0
            for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
            for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
            return (high, low)
        }
    }

    /// The canonical text of an IPv6 literal ("0:0::1" -> "::1"), so equal addresses compare equal.
    static func canonicalIPv6(_ text: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func formatIPv4(_ hostOrder: UInt32) -> String {
        (0..<4).map { String(hostOrder >> (24 - 8 * UInt32($0)) & 0xff) }.joined(separator: ".")
    }
}
