import HTTP1
import XCTest

final class ResponseRewriterTests: XCTestCase {
    func rewrite(_ response: String, method: HTTP1.Method = .get, connection: ConnectionDirective, capacity: Int = 4096) throws -> String? {
        let p = try parseResponse(response, method: method).get()
        var out = [UInt8](repeating: 0, count: capacity)
        let n = p.bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { out in
                ResponseRewriter.write(p.head, headers: p.headers, source: source, connection: connection, into: out)
            }
        }
        return n.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    let response = """
        HTTP/1.1 200 OK\r
        Content-Type: text/plain\r
        Connection: keep-alive, X-Backend\r
        Keep-Alive: timeout=5\r
        X-Backend: app1\r
        Transfer-Encoding: chunked\r
        Trailer: X-Sum\r
        Upgrade: h2c\r
        Proxy-Connection: keep-alive\r
        Set-Cookie: a=1\r
        \r\n
        """

    func testHopByHopRemoval() throws {
        XCTAssertEqual(try rewrite(response, connection: .none), """
            HTTP/1.1 200 OK\r
            Content-Type: text/plain\r
            Transfer-Encoding: chunked\r
            Trailer: X-Sum\r
            Set-Cookie: a=1\r
            \r\n
            """)
    }

    func testConnectionDirectives() throws {
        let base = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n"
        XCTAssertEqual(try rewrite("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", connection: .close),
                       base + "Connection: close\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", connection: .keepAlive),
                       base + "Connection: keep-alive\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 204 No Content\r\n\r\n", connection: .none), "HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 204 No Content\r\n\r\n", connection: .close), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    }

    func testUpgradeResponse() throws {
        let upstream = """
            HTTP/1.1 101 Switching Protocols\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r
            \r\n
            """
        XCTAssertEqual(try rewrite(upstream, connection: .upgrade), """
            HTTP/1.1 101 Switching Protocols\r
            Upgrade: websocket\r
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r
            Connection: upgrade\r
            \r\n
            """)
        XCTAssertEqual(try rewrite(upstream, connection: .close), """
            HTTP/1.1 101 Switching Protocols\r
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r
            Connection: close\r
            \r\n
            """)
    }

    func testMergedContentLengthsAreSentAsOneLine() throws {
        XCTAssertEqual(try rewrite("HTTP/1.1 200 OK\r\nContent-Length: 42\r\nContent-Length: 42\r\nX: y\r\n\r\n", connection: .none),
                       "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 42\r\n\r\n")
    }

    func testContentLengthWithLeadingZerosIsSentInPlainDecimal() throws {
        XCTAssertEqual(try rewrite("HTTP/1.1 200 OK\r\nContent-Length: 010\r\nX: y\r\n\r\n", connection: .none),
                       "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 10\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX: y\r\n\r\n", connection: .none),
                       "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX: y\r\n\r\n", "canonical: copied as it came")
        // Without a body too: the length a HEAD or 304 response announces.
        XCTAssertEqual(try rewrite("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", method: .head, connection: .none),
                       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 304 Not Modified\r\nContent-Length: 0012\r\nETag: \"e\"\r\n\r\n", connection: .none),
                       "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 12\r\n\r\n")
    }

    func testNoContentAndInterimResponsesLoseFramingFields() throws {
        XCTAssertEqual(try rewrite("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX: y\r\n\r\n", connection: .none),
                       "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n", connection: .close),
                       "HTTP/1.1 204 No Content\r\nX: y\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 100 Continue\r\nContent-Length: 07\r\n\r\n", connection: .none),
                       "HTTP/1.1 100 Continue\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nTransfer-Encoding: chunked\r\n\r\n", connection: .none),
                       "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n", connection: .upgrade),
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
        XCTAssertEqual(try rewrite("HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n", connection: .none),
                       "HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n", "only 1xx and 204")
    }

    func testResponsesKeepUnderscoreNamesAndForwarded() throws {
        XCTAssertEqual(try rewrite("HTTP/1.1 200 OK\r\nX_Backend: a\r\nForwarded: for=x\r\nContent-Length: 0\r\n\r\n", connection: .none),
                       "HTTP/1.1 200 OK\r\nX_Backend: a\r\nForwarded: for=x\r\nContent-Length: 0\r\n\r\n")
    }

    func testOutputTooSmall() throws {
        let full = try XCTUnwrap(rewrite(response, connection: .close))
        XCTAssertEqual(try rewrite(response, connection: .close, capacity: full.utf8.count), full)
        XCTAssertNil(try rewrite(response, connection: .close, capacity: full.utf8.count - 1))
    }
}
