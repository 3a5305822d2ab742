/// Header names the parsers and rewriters act on; everything else is .other.
public enum KnownHeader: UInt8, Sendable {
    case other, host, contentLength, transferEncoding, connection, keepAlive, proxyConnection, te, upgrade, expect
    case xForwardedFor, xForwardedProto, xForwardedHost, xForwardedPort, trailer

    /// Classifies the field name at bytes [start, end) of `p` (case-insensitive).
    @inline(__always)
    static func classify(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> KnownHeader {
        // Dispatch on length first so that most names cost one comparison at most.
        switch end - start {
        case 2: return Bytes.equals(p, start, end, "te") ? .te : .other
        case 4: return Bytes.equals(p, start, end, "host") ? .host : .other
        case 6: return Bytes.equals(p, start, end, "expect") ? .expect : .other
        case 7:
            if Bytes.equals(p, start, end, "upgrade") { return .upgrade }
            return Bytes.equals(p, start, end, "trailer") ? .trailer : .other
        case 10:
            if Bytes.equals(p, start, end, "connection") { return .connection }
            return Bytes.equals(p, start, end, "keep-alive") ? .keepAlive : .other
        case 14: return Bytes.equals(p, start, end, "content-length") ? .contentLength : .other
        case 15: return Bytes.equals(p, start, end, "x-forwarded-for") ? .xForwardedFor : .other
        case 16:
            if Bytes.equals(p, start, end, "proxy-connection") { return .proxyConnection }
            if Bytes.equals(p, start, end, "x-forwarded-host") { return .xForwardedHost }
            return Bytes.equals(p, start, end, "x-forwarded-port") ? .xForwardedPort : .other
        case 17:
            if Bytes.equals(p, start, end, "transfer-encoding") { return .transferEncoding }
            return Bytes.equals(p, start, end, "x-forwarded-proto") ? .xForwardedProto : .other
        default: return .other
        }
    }

    /// Always removed before forwarding (RFC 9110 7.6.1).
    var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .upgrade: return true
        default: return false
        }
    }

    /// Names that a Connection header may not make hop-by-hop.
    var isProtected: Bool {
        switch self {
        case .host, .contentLength, .transferEncoding, .xForwardedFor, .xForwardedProto, .xForwardedHost, .xForwardedPort:
            return true
        default: return false
        }
    }

    var isXForwarded: Bool {
        switch self {
        case .xForwardedFor, .xForwardedProto, .xForwardedHost, .xForwardedPort: return true
        default: return false
        }
    }
}
