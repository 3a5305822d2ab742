import HTTP1
import XCTest

final class ResponseParserTests: XCTestCase {
    // MARK: framing

    func testContentLength() throws {
        let p = try requireResponse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\n")
        XCTAssertEqual(p.head.status, 200)
        XCTAssertEqual(p.head.version, .http11)
        XCTAssertEqual(p.head.headLength, p.bytes.count)
        XCTAssertEqual(p.head.framing, .contentLength(12))
        XCTAssertTrue(p.head.keepAlive)
        XCTAssertFalse(p.head.isInterim)
        XCTAssertEqual(p.headers.count, 2)
    }

    func testChunked() throws {
        let p = try requireResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(p.head.framing, .chunked)
        XCTAssertTrue(p.head.keepAlive)
        XCTAssertEqual(try requireResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").head.framing, .chunked)
    }

    func testUntilClose() throws {
        let p = try requireResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        XCTAssertEqual(p.head.framing, .untilClose)
        XCTAssertFalse(p.head.keepAlive, "a body that runs until close ends the connection")
        // RFC 9112 6.3: a final coding other than chunked means read until close.
        XCTAssertEqual(try requireResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").head.framing, .untilClose)
    }

    func testHeadResponseHasNoBody() throws {
        let p = try requireResponse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method: .head)
        XCTAssertEqual(p.head.framing, BodyFraming.none)
        XCTAssertTrue(p.head.keepAlive)
        XCTAssertEqual(try requireResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .head).head.framing, BodyFraming.none)
        XCTAssertEqual(try requireResponse("HTTP/1.1 200 OK\r\n\r\n", method: .head).head.framing, BodyFraming.none)
    }

    func testNoBodyStatuses() throws {
        for status in [204, 304] {
            let p = try requireResponse("HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\n")
            XCTAssertEqual(p.head.framing, BodyFraming.none)
            XCTAssertTrue(p.head.keepAlive)
            XCTAssertFalse(p.head.isInterim)
        }
    }

    func testInterimResponses() throws {
        for status in [100, 102, 103, 199] {
            let p = try requireResponse("HTTP/1.1 \(status) Whatever\r\n\r\n")
            XCTAssertEqual(p.head.framing, BodyFraming.none)
            XCTAssertTrue(p.head.isInterim)
        }
        let p = try requireResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertFalse(p.head.isInterim)
        XCTAssertEqual(p.head.framing, BodyFraming.none)
        XCTAssertEqual(p.isHopByHop("Upgrade"), true)
    }

    func testKeepAliveRulesByVersion() throws {
        XCTAssertFalse(try requireResponse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").head.keepAlive)
        XCTAssertFalse(try requireResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").head.keepAlive)
        let p = try requireResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        XCTAssertTrue(p.head.keepAlive)
        XCTAssertEqual(p.head.version, .http10)
        XCTAssertFalse(try requireResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").head.keepAlive)
    }

    func testStatusLineForms() throws {
        XCTAssertEqual(try requireResponse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head.status, 200)
        XCTAssertEqual(try requireResponse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n").head.status, 404)
        XCTAssertEqual(try requireResponse("HTTP/1.1 599 Some\tReason  here\r\nContent-Length: 0\r\n\r\n").head.status, 599)
        XCTAssertEqual(try requireResponse("HTTP/1.1 200 OK\r\n\r\n").headers.count, 0)
    }

    func testIdenticalContentLengthsAreMerged() throws {
        XCTAssertEqual(try requireResponse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n").head.framing, .contentLength(3))
    }

    func testConnectionNamedHeadersAreHopByHop() throws {
        let p = try requireResponse("HTTP/1.1 200 OK\r\nConnection: X-Internal, content-length\r\nX-Internal: 1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(p.isHopByHop("X-Internal"), true)
        XCTAssertEqual(p.isHopByHop("Content-Length"), false)
    }

    // MARK: rejections, all 502

    func testMalformedStatusLine() {
        for line in ["HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1  200 OK", "HTTP/1.1 abc OK", "HTTP/1.1200 OK",
                     "http/1.1 200 OK", "HTTP/1.1x 200 OK", "HTTP/2.0 200 OK", "HTTP/1.2 200 OK", "HTTP/0.9 200 OK",
                     "ICY 200 OK", "HTTP/1.1", "HTTP/1.1 ", "HTTP/1.1 200OK", " HTTP/1.1 200 OK"] {
            assertResponseRejected("\(line)\r\nContent-Length: 0\r\n\r\n")
        }
        assertResponseRejected("HTTP/1.1 200 O\u{1}K\r\n\r\n")
    }

    func testStatusOutOfRange() {
        assertResponseRejected("HTTP/1.1 099 Low\r\n\r\n")
        assertResponseRejected("HTTP/1.1 600 High\r\n\r\n")
        assertResponseRejected("HTTP/1.1 000 Zero\r\n\r\n")
    }

    func testBadContentLength() {
        for value in ["-1", "1e3", "", "0x1", "9223372036854775808", "4,"] {
            assertResponseRejected("HTTP/1.1 200 OK\r\nContent-Length: \(value)\r\n\r\n")
        }
    }

    func testDifferingContentLengths() {
        assertResponseRejected("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n")
    }

    func testBothContentLengthAndTransferEncoding() {
        assertResponseRejected("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    func testBadTransferEncoding() {
        assertResponseRejected("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n")
        assertResponseRejected("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    func testBareCRAndLF() {
        assertResponseRejected("HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n")
    }

    func testObsFold() {
        assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n")
    }

    func testWhitespaceBeforeColon() {
        assertResponseRejected("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n")
    }

    func testControlBytes() {
        assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\nContent-Length: 0\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: a\u{7F}b\r\nContent-Length: 0\r\n\r\n")
        assertResponseRejected("HTTP/1.1 200 OK\r\nX\u{1}A: b\r\nContent-Length: 0\r\n\r\n")
    }

    /// Values are scanned eight bytes at a time, jumping to the first byte that is not plain:
    /// a tab, a control byte or DEL must be found wherever it falls in a word.
    func testValueBytesAtEveryOffsetOfAWord() throws {
        for k in 0..<20 {
            let before = String(repeating: "a", count: k), after = String(repeating: "b", count: 19 - k)
            let tabbed = try requireResponse("HTTP/1.1 200 OK\r\nX-A: \(before)\t\(after)\r\nContent-Length: 0\r\n\r\n")
            // A tab at either edge is optional whitespace, not part of the value.
            XCTAssertEqual(tabbed.value(0), k == 0 ? after : k == 19 ? before : before + "\t" + after)
            let trailing = try requireResponse("HTTP/1.1 200 OK\r\nX-A: \(before) \t \r\nContent-Length: 0\r\n\r\n")
            XCTAssertEqual(trailing.value(0), before)
            assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: \(before)\u{7F}\(after)\r\nContent-Length: 0\r\n\r\n")
            assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: \(before)\u{1}\(after)\r\nContent-Length: 0\r\n\r\n")
            assertResponseRejected("HTTP/1.1 200 OK\r\nX-A: \(before)\r\(after)\r\nContent-Length: 0\r\n\r\n")
        }
    }

    func testTooManyHeaders() throws {
        let bytes = Array("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".utf8)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { buffer in
            try ResponseParser.parse(buffer, headLength: bytes.count, requestMethod: .get, headers: HeaderTable(capacity: 2))
        }) { XCTAssertEqual(($0 as? HTTPError)?.status, 502) }
    }
}
