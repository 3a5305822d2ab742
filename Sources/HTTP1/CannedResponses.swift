/// Complete responses the proxy answers itself. They live in the binary's constant data, so
/// returning one allocates nothing.
public enum CannedResponse {
    /// "HTTP/1.1 <status> <reason>" with a short text/plain body and "Connection: close", for 400,
    /// 403, 404, 408, 413, 414, 417, 431, 500, 501, 502, 503, 504 and 505; any other status gets the 500.
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public static func bytes(status: Int) -> UnsafeRawBufferPointer {
        let text: StaticString
        switch status {
        case 400: text = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n"
        case 403: text = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n"
        case 404: text = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n"
        case 408: text = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nrequest timeout\n"
        case 413: text = "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nConnection: close\r\n\r\ncontent too large\n"
        case 414: text = "HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nuri too long\n"
        case 417: text = "HTTP/1.1 417 Expectation Failed\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nexpectation failed\n"
        case 431: text = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\r\nrequest header fields too large\n"
        case 500: text = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\ninternal server error\n"
        case 501: text = "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nnot implemented\n"
        case 502: text = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n"
        case 503: text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\nservice unavailable\n"
        case 504: text = "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\ngateway timeout\n"
        case 505: text = "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\nContent-Length: 27\r\nConnection: close\r\n\r\nhttp version not supported\n"
        default: return bytes(status: 500)
        }
        return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// The answer to a plain-HTTP request on a TLS listener (nginx's 497 page, sent as 400).
    public static var tlsRequired: UnsafeRawBufferPointer {
        let text: StaticString = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 58\r\nConnection: close\r\n\r\nthis port expects TLS: the request was sent as plain HTTP\n"
        return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }
}
