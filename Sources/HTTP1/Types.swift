public enum HTTPVersion: UInt8, Sendable {
    case http10, http11
}

public enum Method: UInt8, Sendable {
    case get, head, post, put, delete, options, patch, trace, other

    /// RFC 9110 9.2.2; a request with such a method may be retried on a fresh connection.
    public var isIdempotent: Bool {
        switch self {
        case .get, .head, .put, .delete, .options, .trace: return true
        case .post, .patch, .other: return false
        }
    }
}

/// How the body after a head is delimited.
public enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(Int)
    case chunked
    case untilClose
}

public struct RequestHead: Sendable {
    public var method: Method
    /// The method is bytes [0, methodEnd).
    public var methodEnd: Int
    public var targetStart: Int
    public var targetEnd: Int
    public var version: HTTPVersion
    /// Bytes of the whole head including the final CRLFCRLF.
    public var headLength: Int
    /// .none, .contentLength(n) (n may be 0) or .chunked; never .untilClose.
    public var framing: BodyFraming
    /// HTTP/1.1 without a "close" token, or HTTP/1.0 with a "keep-alive" token.
    public var keepAlive: Bool
    /// HTTP/1.1, Upgrade lists "websocket" and Connection lists "upgrade".
    public var upgradeWebSocket: Bool
    /// Host value offsets; -1/-1 when absent (allowed only in HTTP/1.0).
    public var hostStart: Int
    public var hostEnd: Int
}

public struct ResponseHead: Sendable {
    public var status: Int
    public var version: HTTPVersion
    public var headLength: Int
    /// From the request method (HEAD -> .none), the status (1xx, 204, 304 -> .none),
    /// a final chunked coding, Content-Length, else .untilClose.
    public var framing: BodyFraming
    /// The upstream lets the connection be reused and the body does not run until close.
    public var keepAlive: Bool
    /// 100...199 except 101.
    public var isInterim: Bool
}
