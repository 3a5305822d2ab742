import CAres

/// Why a lookup gave no usable answer. A failure never replaces the last good answer : the
/// plan counts it, keeps the servers it had and asks again sooner.
public enum DNSFailure: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// NXDOMAIN: the name does not exist.
    case nxdomain
    /// The name exists but holds no usable record: no A/AAAA, no SRV, or SRV targets without addresses.
    case noData
    /// SERVFAIL from the server.
    case serverFailure
    /// REFUSED from the server.
    case refused
    /// No answer within the resolver's timeout and tries.
    case timeout
    /// The server's port is closed (ICMP port unreachable on UDP, a reset on TCP).
    case connectionRefused
    /// A malformed answer, or FORMERR / NOTIMP from the server.
    case badResponse
    /// Any other c-ares status (a bad name, out of memory), with c-ares' text.
    case other(code: Int32, message: String)

    /// Maps a c-ares status other than ARES_SUCCESS.
    init(aresStatus status: Int32) {
        switch status {
        case ARES_ENOTFOUND: self = .nxdomain
        case ARES_ENODATA: self = .noData
        case ARES_ESERVFAIL: self = .serverFailure
        case ARES_EREFUSED: self = .refused
        case ARES_ETIMEOUT: self = .timeout
        case ARES_ECONNREFUSED: self = .connectionRefused
        case ARES_EFORMERR, ARES_ENOTIMP, ARES_EBADRESP: self = .badResponse
        default: self = .other(code: status, message: String(cString: ares_strerror(status)))
        }
    }

    /// Whether the failure says the name has nothing to offer (rather than that asking failed).
    var isEmptyAnswer: Bool { self == .nxdomain || self == .noData }

    public var description: String {
        switch self {
        case .nxdomain: return "NXDOMAIN"
        case .noData: return "no records"
        case .serverFailure: return "SERVFAIL"
        case .refused: return "REFUSED"
        case .timeout: return "timed out"
        case .connectionRefused: return "connection refused"
        case .badResponse: return "bad response"
        case .other(let code, let message): return "\(message) (c-ares status \(code))"
        }
    }
}
