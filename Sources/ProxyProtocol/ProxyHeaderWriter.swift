/// Writes the PROXY protocol header that `server ... send_proxy=v1|v2` puts at the start of every
/// new upstream connection: source = the client (the peer, or the source of the client's own PROXY
/// header), destination = the address the client connected to.
///
/// Families: when both addresses are IPv4 (IPv4-mapped IPv6 counts as IPv4), TCP over IPv4;
/// otherwise TCP over IPv6, with any IPv4 address written as ::ffff:a.b.c.d.
public enum ProxyHeaderWriter {
    /// Longest v1 line: TCP6 with two 39-character addresses and two 5-digit ports.
    public static let maxV1Length = 104
    /// Longest v2 header: TCP over IPv6, no TLVs.
    public static let maxV2Length = 16 + 36

    /// "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" (IPv6 in RFC 5952 text, without a dotted tail).
    /// Returns the length, or nil when `buffer` is too short (`maxV1Length` always does).
    public static func writeV1(source: ProxyAddress, destination: ProxyAddress, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var out = TextOutput(buffer)
        if let (s, d) = bothIPv4(source, destination) {
            out.ascii("PROXY TCP4 ")
            out.ipv4(s)
            out.byte(UInt8(ascii: " "))
            out.ipv4(d)
        } else {
            out.ascii("PROXY TCP6 ")
            out.ipv6(high: source.mapped128.high, low: source.mapped128.low)
            out.byte(UInt8(ascii: " "))
            out.ipv6(high: destination.mapped128.high, low: destination.mapped128.low)
        }
        out.byte(UInt8(ascii: " "))
        out.decimal(UInt(source.port))
        out.byte(UInt8(ascii: " "))
        out.decimal(UInt(destination.port))
        out.ascii("\r\n")
        return out.length
    }

    /// The binary header, command PROXY, transport STREAM, no TLVs: 28 bytes for IPv4, 52 for
    /// IPv6. Returns the length, or nil when `buffer` is too short.
    public static func writeV2(source: ProxyAddress, destination: ProxyAddress, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let ipv4 = bothIPv4(source, destination)
        let length = ipv4 == nil ? maxV2Length : 16 + 12
        guard buffer.count >= length else { return nil }
        var out = BinaryOutput(buffer)
        ProxyV2.signature.withUTF8Buffer { for b in $0 { out.u8(b) } }
        out.u8(0x21)                       // version 2, PROXY
        out.u8(ipv4 == nil ? 0x21 : 0x11)  // AF_INET6 or AF_INET, STREAM
        out.u16(UInt16(length - 16))
        if let (s, d) = ipv4 {
            out.u32(s)
            out.u32(d)
        } else {
            out.u64(source.mapped128.high)
            out.u64(source.mapped128.low)
            out.u64(destination.mapped128.high)
            out.u64(destination.mapped128.low)
        }
        out.u16(source.port)
        out.u16(destination.port)
        return length
    }

    /// The two IPv4 addresses when both are IPv4 or IPv4-mapped.
    private static func bothIPv4(_ a: ProxyAddress, _ b: ProxyAddress) -> (UInt32, UInt32)? {
        let a = a.unmapped, b = b.unmapped
        guard a.family == .ipv4 && b.family == .ipv4 else { return nil }
        return (UInt32(truncatingIfNeeded: a.low), UInt32(truncatingIfNeeded: b.low))
    }
}

/// Big-endian writes into a buffer the caller has checked is large enough.
private struct BinaryOutput {
    let buffer: UnsafeMutableRawBufferPointer
    var at = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func u8(_ v: UInt8) {
        buffer[at] = v
        at += 1
    }

    mutating func u16(_ v: UInt16) {
        u8(UInt8(v >> 8))
        u8(UInt8(truncatingIfNeeded: v))
    }

    mutating func u32(_ v: UInt32) {
        u16(UInt16(v >> 16))
        u16(UInt16(truncatingIfNeeded: v))
    }

    mutating func u64(_ v: UInt64) {
        u32(UInt32(v >> 32))
        u32(UInt32(truncatingIfNeeded: v))
    }
}
