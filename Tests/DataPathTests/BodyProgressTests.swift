import HTTP1
import XCTest
@testable import DataPath

final class BodyProgressTests: XCTestCase {
    private func advance(_ body: inout BodyProgress, _ text: String) throws -> Int {
        try Array(text.utf8).withUnsafeBytes { try body.advance($0) }
    }

    func testNoBodyIsDoneAtOnce() throws {
        var body = BodyProgress(.none)
        XCTAssertTrue(body.done)
        XCTAssertEqual(try advance(&body, "GET / HTTP/1.1\r\n"), 0, "the next request's bytes are not body")
    }

    func testContentLengthEndsInsideTheBytes() throws {
        var body = BodyProgress(.contentLength(5))
        XCTAssertEqual(try advance(&body, "abc"), 3)
        XCTAssertFalse(body.done)
        XCTAssertEqual(try advance(&body, "deNEXT"), 2)
        XCTAssertTrue(body.done)
        XCTAssertEqual(body.total, 5)
        XCTAssertTrue(BodyProgress(.contentLength(0)).done)
    }

    func testChunkedCountsFramingAndStopsAtTheEnd() throws {
        var body = BodyProgress(.chunked)
        XCTAssertEqual(try advance(&body, "3\r\nabc\r\n"), 8)
        XCTAssertFalse(body.done)
        XCTAssertEqual(try advance(&body, "0\r\n\r\nGET"), 5)
        XCTAssertTrue(body.done)
        XCTAssertEqual(body.total, 13, "wire bytes, framing included")
    }

    func testBadChunkedFramingThrows() {
        var body = BodyProgress(.chunked)
        XCTAssertThrowsError(try advance(&body, "zz\r\n"))
    }

    func testUntilCloseTakesEverything() throws {
        var body = BodyProgress(.untilClose)
        XCTAssertEqual(try advance(&body, "anything"), 8)
        XCTAssertFalse(body.done, "only the end of the connection ends it")
    }
}
