import HTTP1
import XCTest
@testable import Supervisor

final class HealthCheckResponseTests: XCTestCase {
    private func verdict(_ text: String) -> HealthCheckResponse.Verdict {
        Array(text.utf8).withUnsafeBytes { HealthCheckResponse.verdict($0, headers: HeaderTable()) }
    }

    func testStatusOfACompleteHead() {
        XCTAssertEqual(verdict("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), .status(200))
        XCTAssertEqual(verdict("HTTP/1.0 503 Service Unavailable\r\n\r\n"), .status(503))
        XCTAssertEqual(verdict("HTTP/1.1 204\r\n\r\n"), .status(204))
    }

    func testWaitsForTheWholeHead() {
        XCTAssertEqual(verdict(""), .incomplete)
        XCTAssertEqual(verdict("HTTP/1.1 200 OK\r\n"), .incomplete)
        XCTAssertEqual(verdict("HTTP/1.1 200 OK\r\nServer: x\r\n"), .incomplete)
    }

    /// The same strictness as any upstream response: a check that passes only because it was
    /// read loosely would keep a broken server in rotation.
    func testMalformedHeadsFail() {
        for text in ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
                     "ICY 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"] {
            guard case .malformed = verdict(text) else { return XCTFail("accepted \(text.debugDescription)") }
        }
    }

    func testAnEndlessHeadFails() {
        let text = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: aaaaaaaaaaaaaaaa\r\n", count: 400)
        guard case .malformed(let why) = verdict(text) else { return XCTFail("accepted") }
        XCTAssertTrue(why.contains("larger than"), why)
    }
}
