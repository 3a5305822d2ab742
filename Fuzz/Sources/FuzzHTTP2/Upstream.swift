import HTTP1
import HTTP2

/// Upstream responses the fuzzed data path sends back, parsed once; their bytes live for the
/// whole run, as `setBody` requires.
enum Upstream {
    struct Response {
        let bytes: UnsafeRawBufferPointer
        let head: ResponseHead
        let headers: HeaderTable
        var body: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[head.headLength...]) }
    }

    static func parse(_ text: StaticString) -> Response {
        let bytes = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        let headers = HeaderTable(capacity: 16)
        let length = HeadScanner.headEnd(in: bytes, searchFrom: 0)!
        let head = try! ResponseParser.parse(bytes, headLength: length, requestMethod: .get, headers: headers)
        return Response(bytes: bytes, head: head, headers: headers)
    }

    nonisolated(unsafe) static let responses = [
        parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 5\r\n\r\nhello"),
        parse("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\n\r\n"),
        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\na longer body that will not fit in a tight window, and then some more"),
        parse("HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\nContent-Length: 10\r\n\r\n"),
    ]
    nonisolated(unsafe) static let early = parse("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n")
    nonisolated(unsafe) static let trailers: UnsafeRawBufferPointer = {
        let text: StaticString = "X-Sum: 7\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"
        return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }()

    /// Answers a request with response `variant`; a body goes out in two pieces.
    static func answer(_ connection: H2Connection, _ stream: Int32, variant: Int) {
        let r = responses[variant % responses.count]
        if variant % 5 == 0 { _ = connection.submitResponse(stream: stream, head: early.head, headers: early.headers, source: early.bytes) }
        guard connection.submitResponse(stream: stream, head: r.head, headers: r.headers, source: r.bytes) else { return }
        guard !r.body.isEmpty else { return }
        _ = connection.setBody(stream: stream, bytes: UnsafeRawBufferPointer(rebasing: r.body[0..<(r.body.count / 2)]), endStream: false)
    }

    /// After `.bodyTaken` of the first piece: the rest, with trailers for the chunked response.
    static func more(_ connection: H2Connection, _ stream: Int32, variant: Int) {
        let r = responses[variant % responses.count]
        let rest = UnsafeRawBufferPointer(rebasing: r.body[(r.body.count / 2)...])
        _ = connection.setBody(stream: stream, bytes: rest, endStream: true, trailers: r.head.framing == .chunked ? trailers : nil)
    }
}
