/// Version 2, the binary header: the 12-byte signature; version (2) and command (0 LOCAL, 1 PROXY);
/// family (0 UNSPEC, 1 AF_INET, 2 AF_INET6, 3 AF_UNIX) and transport (0 UNSPEC, 1 STREAM, 2 DGRAM);
/// a big-endian length; then that many bytes: the address block, then TLVs (type, 16-bit length,
/// value), which are skipped but must fit the length exactly.
enum ProxyV2 {
    static let signature: StaticString = "\r\n\r\n\0\r\nQUIT\n"
    static let fixedLength = 16

    static func parse(_ p: UnsafeRawBufferPointer) -> ProxyParseResult {
        guard ProxyHeaderParser.matchesPrefix(p, signature) else { return .invalid(reason: "not a PROXY protocol header") }
        if p.count > 12 {
            guard p[12] >> 4 == 2 else { return .invalid(reason: "PROXY v2 version is not 2") }
            guard p[12] & 0xf <= 1 else { return .invalid(reason: "PROXY v2 unknown command") }
        }
        if p.count > 13 {
            guard p[13] >> 4 <= 3, p[13] & 0xf <= 2 else { return .invalid(reason: "PROXY v2 unknown family or transport") }
        }
        guard p.count >= fixedLength else { return .needMore }
        let length = fixedLength + (Int(p[14]) << 8 | Int(p[15]))
        guard length <= ProxyHeaderParser.maxV2Length else { return .invalid(reason: "PROXY v2 header too long") }
        guard p.count >= length else { return .needMore }

        let local = p[12] & 0xf == 0
        let family = p[13] >> 4
        let transport = p[13] & 0xf
        // LOCAL: the connection's own endpoints, whatever follows. UNSPEC: nothing to read either.
        if local || family == 0 || transport == 0 {
            return .header(length: length, source: nil, destination: nil)
        }
        let block = family == 1 ? 12 : family == 2 ? 36 : 216
        guard length - fixedLength >= block else { return .invalid(reason: "PROXY v2 address block too short") }
        guard tlvsFit(p, from: fixedLength + block, to: length) else { return .invalid(reason: "PROXY v2 TLV overruns the header") }
        // Only TCP over IPv4 or IPv6 stands for the peer; AF_UNIX and DGRAM fall back to UNSPEC.
        guard transport == 1 && family != 3 else { return .header(length: length, source: nil, destination: nil) }
        let a = fixedLength
        if family == 1 {
            return .header(length: length,
                           source: ProxyAddress(ipv4: be32(p, a), port: be16(p, a + 8)),
                           destination: ProxyAddress(ipv4: be32(p, a + 4), port: be16(p, a + 10)))
        }
        return .header(length: length,
                       source: ProxyAddress(ipv6High: be64(p, a), low: be64(p, a + 8), port: be16(p, a + 32)),
                       destination: ProxyAddress(ipv6High: be64(p, a + 16), low: be64(p, a + 24), port: be16(p, a + 34)))
    }

    /// True when [from, to) is a whole number of TLVs.
    private static func tlvsFit(_ p: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        var at = from
        while at < to {
            guard to - at >= 3 else { return false }
            at += 3 + Int(be16(p, at + 1))
        }
        return at == to
    }

    private static func be16(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(p[at]) << 8 | UInt16(p[at + 1])
    }

    private static func be32(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(be16(p, at)) << 16 | UInt32(be16(p, at + 2))
    }

    private static func be64(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(be32(p, at)) << 32 | UInt64(be32(p, at + 4))
    }
}
