/// Version 1, the text line:
///   "PROXY TCP4 " IPv4 " " IPv4 " " port " " port CRLF
///   "PROXY TCP6 " IPv6 " " IPv6 " " port " " port CRLF
///   "PROXY UNKNOWN" [ " " anything ] CRLF
/// at most 107 bytes with the CRLF; single spaces; addresses and ports as `TextInput` reads them.
enum ProxyV1 {
    static func parse(_ p: UnsafeRawBufferPointer) -> ProxyParseResult {
        guard ProxyHeaderParser.matchesPrefix(p, "PROXY ") else { return .invalid(reason: "not a PROXY protocol header") }
        // The CRLF must come within 107 bytes; before it, only printable ASCII.
        let limit = min(p.count, ProxyHeaderParser.maxV1Length)
        var lineEnd = -1
        for i in 0..<limit {
            let b = p[i]
            if b == 0x0D {
                guard i + 1 < ProxyHeaderParser.maxV1Length else { return .invalid(reason: "PROXY v1 line longer than 107 bytes") }
                guard i + 1 < p.count else { return .needMore }
                guard p[i + 1] == 0x0A else { return .invalid(reason: "PROXY v1 line has a CR without LF") }
                lineEnd = i
                break
            }
            guard b >= 0x20 && b < 0x7F else { return .invalid(reason: "PROXY v1 line has a control or non-ASCII byte") }
        }
        if lineEnd < 0 {
            return p.count >= ProxyHeaderParser.maxV1Length ? .invalid(reason: "PROXY v1 line longer than 107 bytes") : .needMore
        }
        return line(p, end: lineEnd)
    }

    /// The complete line [0, end), CRLF excluded, "PROXY " checked.
    private static func line(_ p: UnsafeRawBufferPointer, end: Int) -> ProxyParseResult {
        let length = end + 2
        let rest = UnsafeRawBufferPointer(rebasing: p[6..<end])
        if ProxyHeaderParser.matchesPrefix(rest, "UNKNOWN") && rest.count >= 7 {
            // Anything may follow UNKNOWN after a space, and is ignored.
            guard rest.count == 7 || rest[7] == UInt8(ascii: " ") else { return .invalid(reason: "PROXY v1 unknown protocol") }
            return .header(length: length, source: nil, destination: nil)
        }
        let ipv6: Bool
        if ProxyHeaderParser.matchesPrefix(rest, "TCP4 ") && rest.count >= 5 {
            ipv6 = false
        } else if ProxyHeaderParser.matchesPrefix(rest, "TCP6 ") && rest.count >= 5 {
            ipv6 = true
        } else {
            return .invalid(reason: "PROXY v1 unknown protocol")
        }
        // Four fields after "PROXY TCPx ", one space between each.
        guard let s1 = space(p, from: 11, end: end), let s2 = space(p, from: s1 + 1, end: end),
              let s3 = space(p, from: s2 + 1, end: end), space(p, from: s3 + 1, end: end) == nil else {
            return .invalid(reason: "PROXY v1 line does not have four fields")
        }
        guard let sourcePort = TextInput.port(p, s2 + 1, s3), let destinationPort = TextInput.port(p, s3 + 1, end) else {
            return .invalid(reason: "PROXY v1 invalid port")
        }
        if ipv6 {
            guard let s = TextInput.ipv6(p, 11, s1), let d = TextInput.ipv6(p, s1 + 1, s2) else {
                return .invalid(reason: "PROXY v1 invalid IPv6 address")
            }
            return .header(length: length, source: ProxyAddress(ipv6High: s.0, low: s.1, port: sourcePort),
                           destination: ProxyAddress(ipv6High: d.0, low: d.1, port: destinationPort))
        }
        guard let s = TextInput.ipv4(p, 11, s1), let d = TextInput.ipv4(p, s1 + 1, s2) else {
            return .invalid(reason: "PROXY v1 invalid IPv4 address")
        }
        return .header(length: length, source: ProxyAddress(ipv4: s, port: sourcePort),
                       destination: ProxyAddress(ipv4: d, port: destinationPort))
    }

    /// The first space in [from, end), or nil.
    private static func space(_ p: UnsafeRawBufferPointer, from: Int, end: Int) -> Int? {
        var i = from
        while i < end {
            if p[i] == UInt8(ascii: " ") { return i }
            i += 1
        }
        return nil
    }
}
