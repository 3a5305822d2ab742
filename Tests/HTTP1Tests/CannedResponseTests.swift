import HTTP1
import XCTest

final class CannedResponseTests: XCTestCase {
    func testEveryStatusIsACompleteResponse() throws {
        let reasons = [400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 413: "Content Too Large",
                       414: "URI Too Long", 417: "Expectation Failed", 431: "Request Header Fields Too Large",
                       500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
                       504: "Gateway Timeout", 505: "HTTP Version Not Supported"]
        for (status, reason) in reasons {
            let text = CannedResponse.bytes(status: status).string
            let end = try XCTUnwrap(text.firstRange(of: "\r\n\r\n"))
            let head = text[..<end.lowerBound]
            let body = text[end.upperBound...]
            XCTAssertEqual(head, "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close")
            XCTAssertEqual(body, reason.lowercased() + "\n")
        }
    }

    func testResponsesParse() throws {
        for status in [400, 413, 505] {
            let p = try requireResponse(CannedResponse.bytes(status: status).string)
            XCTAssertEqual(p.head.status, status)
            XCTAssertFalse(p.head.keepAlive)
        }
    }

    func testUnknownStatusFallsBackTo500() {
        XCTAssertEqual(CannedResponse.bytes(status: 418).string, CannedResponse.bytes(status: 500).string)
    }

    func testSameStorageEachTime() {
        XCTAssertEqual(CannedResponse.bytes(status: 502).baseAddress, CannedResponse.bytes(status: 502).baseAddress)
    }

    func testTLSRequiredIsACompleteResponse() throws {
        let text = CannedResponse.tlsRequired.string
        let p = try requireResponse(text)
        XCTAssertEqual(p.head.status, 400)
        guard case .contentLength(let n) = p.head.framing else { return XCTFail("no length") }
        XCTAssertEqual(n, text.utf8.count - p.head.headLength)
        XCTAssertTrue(text.hasSuffix("expects TLS: the request was sent as plain HTTP\n"))
    }
}
