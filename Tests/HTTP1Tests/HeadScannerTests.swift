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

    /// The scan skips eight bytes at a time and jumps to the first CR or LF in a word: it must
    /// stop exactly where a byte-by-byte scan does, wherever in a word the line ends fall.
    func testWordScanStopsWhereAByteScanDoes() {
        let alphabet: [UInt8] = [0x61, 0x3A, 0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0C, 0x0E, 0x7F, 0x80, 0xFF]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        for _ in 0..<20000 {
            // Mostly plain bytes, so that the word path runs, with line ends at random offsets.
            let bytes = (0..<next(48)).map { _ in next(4) == 0 ? alphabet[next(alphabet.count)] : 0x61 }
            let from = next(bytes.count + 1)
            let scanned = bytes.withUnsafeBytes { HeadScanner.headEnd(in: $0, searchFrom: from) }
            XCTAssertEqual(scanned, byteByByteHeadEnd(bytes, from: from), "\(bytes) from \(from)")
        }
    }

    /// The rule `headEnd` implements, one byte at a time.
    private func byteByByteHeadEnd(_ b: [UInt8], from: Int) -> Int? {
        var i = from
        while i < b.count {
            if b[i] == 0x0A {
                if i == 0 || b[i - 1] != 0x0D { return i + 1 }
                if i >= 3 && b[i - 2] == 0x0A && b[i - 3] == 0x0D { return i + 1 }
            } else if b[i] == 0x0D && i + 1 < b.count && b[i + 1] != 0x0A {
                return i + 1
            }
            i += 1
        }
        return nil
    }
}
