/// What the start of a connection on a `proxy_protocol` listener says.
public enum ProxyParseResult: Sendable {
    /// The bytes so far are a valid beginning of a header: read more (within `timeout header`).
    case needMore
    /// Not a valid PROXY protocol header: close the connection.
    case invalid(reason: StaticString)
    /// A whole header of `length` bytes (the connection's own data starts after it). The addresses
    /// are nil when the sender gave none that sluice uses (v1 UNKNOWN; v2 LOCAL, UNSPEC, AF_UNIX or
    /// DGRAM): the connection's own endpoints stand, as the spec says. Both nil or both set.
    case header(length: Int, source: ProxyAddress?, destination: ProxyAddress?)
}

/// Reads a PROXY protocol header, v1 or v2 (HAProxy's doc/proxy-protocol.txt), from the bytes at
/// the start of a connection, all of them so far on each call: there is no state between calls.
/// Strict: anything the spec does not allow is invalid, as soon as the bytes that show it are
/// there. Never reads outside `bytes`; allocates nothing.
public enum ProxyHeaderParser {
    /// Longest v1 line, CRLF included.
    public static let maxV1Length = 107
    /// Longest v2 header accepted: the 16 fixed bytes, the address block and TLVs. The spec's
    /// bound is 16 + 65535; real senders stay far below (an AF_UNIX block is 216 bytes, HAProxy's
    /// SSL TLVs a few hundred).
    public static let maxV2Length = 2048

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ProxyParseResult {
        guard let first = bytes.first else { return .needMore }
        switch first {
        case UInt8(ascii: "P"): return ProxyV1.parse(bytes)
        case 0x0D: return ProxyV2.parse(bytes)
        default: return .invalid(reason: "not a PROXY protocol header")
        }
    }

    /// True when `bytes` begins with as much of `expected` as it holds.
    static func matchesPrefix(_ bytes: UnsafeRawBufferPointer, _ expected: StaticString) -> Bool {
        expected.withUTF8Buffer { e in
            let n = min(bytes.count, e.count)
            for i in 0..<n where bytes[i] != e[i] { return false }
            return true
        }
    }
}
