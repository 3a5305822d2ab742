import HTTP1
import XCTest

final class HeadScannerTests: XCTestCase {
    func end(_ text: String, from: Int = 0) -> Int? {
        Array(text.utf8).withUnsafeBytes { HeadScanner.headEnd(in: $0, searchFrom: from) }
    }

    func testFindsFirstHeadEnd() {
        XCTAssertEqual(end("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 27)
        XCTAssertNil(end("GET / HTTP/1.1\r\nHost: a\r\n"))
        XCTAssertNil(end("GET / HTTP/1.1\r\nHost: a\r\n\r"))
        XCTAssertNil(end(""))
    }

    func testIncrementalSearchFindsAnEndSplitAcrossReads() {
        let text = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        var previous = 0
        var found: Int?
        for count in 1...text.count {
            found = text[0..<count].withUnsafeBytes { HeadScanner.headEnd(in: $0, searchFrom: max(0, previous - 3)) }
            if found != nil {
                XCTAssertEqual(count, text.count)
                break
            }
            previous = count
        }
        XCTAssertEqual(found, text.count)
    }

    func testBareLineEndsStopTheSearchEarly() {
        XCTAssertEqual(end("GET / HTTP/1.1\nHost: a\n\n"), 15)
        XCTAssertEqual(end("\nGET"), 1)
        XCTAssertEqual(end("GET / HTTP/1.1\rHost"), 15)
        XCTAssertNil(end("GET / HTTP/1.1\r"), "a CR at the end may still be followed by LF")
    }

    func testOversizeIs414WhileTheRequestLineIsIncomplete() {
        let long = Array(("GET /" + String(repeating: "a", count: 100)).utf8)
        XCTAssertEqual(long.withUnsafeBytes { HeadScanner.oversizeError($0) }.status, 414)
        let headers = Array(("GET / HTTP/1.1\r\nX-A: " + String(repeating: "a", count: 100)).utf8)
        XCTAssertEqual(headers.withUnsafeBytes { HeadScanner.oversizeError($0) }.status, 431)
    }
}
