/// Header names the parsers and rewriters act on; everything else is .other.
public enum KnownHeader: UInt8, Sendable {
    case other, host, contentLength, transferEncoding, connection, keepAlive, proxyConnection, te, upgrade, expect
    case xForwardedFor, xForwardedProto, xForwardedHost, xForwardedPort, trailer, forwarded

    /// Classifies the field name at bytes [start, end) of `p` (case-insensitive).
    @inline(__always)
    static func classify(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> KnownHeader {
        classify(length: end - start) { Bytes.equals(p, start, end, $0) }
    }

    /// Classifies the name as a server that reads "_" as "-" would (X_Forwarded_For as X-Forwarded-For).
    static func classifyFoldingUnderscore(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> KnownHeader {
        classify(length: end - start) { Bytes.equalsFoldingUnderscore(p, start, end, $0) }
    }

    /// `named(literal)` compares the name with a lowercase literal of that length.
    @inline(__always)
    private static func classify(length: Int, _ named: (StaticString) -> Bool) -> KnownHeader {
        // Dispatch on length first so that most names cost one comparison at most.
        switch length {
        case 2: return named("te") ? .te : .other
        case 4: return named("host") ? .host : .other
        case 6: return named("expect") ? .expect : .other
        case 7:
            if named("upgrade") { return .upgrade }
            return named("trailer") ? .trailer : .other
        case 9: return named("forwarded") ? .forwarded : .other
        case 10:
            if named("connection") { return .connection }
            return named("keep-alive") ? .keepAlive : .other
        case 14: return named("content-length") ? .contentLength : .other
        case 15: return named("x-forwarded-for") ? .xForwardedFor : .other
        case 16:
            if named("proxy-connection") { return .proxyConnection }
            if named("x-forwarded-host") { return .xForwardedHost }
            return named("x-forwarded-port") ? .xForwardedPort : .other
        case 17:
            if named("transfer-encoding") { return .transferEncoding }
            return named("x-forwarded-proto") ? .xForwardedProto : .other
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
        case .host, .contentLength, .transferEncoding, .xForwardedFor, .xForwardedProto, .xForwardedHost, .xForwardedPort,
             .forwarded:
            return true
        default: return false
        }
    }

    /// Every known name is one the proxy sets, frames or routes with, or removes as hop-by-hop: such a
    /// name passes neither disguised ("_" for "-") nor in a trailer section.
    var isProxyManaged: Bool { self != .other }

    var isXForwarded: Bool {
        switch self {
        case .xForwardedFor, .xForwardedProto, .xForwardedHost, .xForwardedPort: return true
        default: return false
        }
    }
}
