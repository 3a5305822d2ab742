import HTTP1
import XCTest

final class ChunkedDecoderTests: XCTestCase {
    /// Feeds `text` in pieces of `step` bytes; returns the bytes consumed in total, or the error.
    func feed(_ text: String, step: Int = Int.max) -> Result<Int, HTTPError> {
        feed(Array(text.utf8), step: step)
    }

    func feed(_ bytes: [UInt8], step: Int = Int.max) -> Result<Int, HTTPError> {
        var decoder = ChunkedDecoder()
        var total = 0
        var offset = 0
        return bytes.withUnsafeBytes { all in
            while offset < all.count && !decoder.isComplete {
                let piece = UnsafeRawBufferPointer(rebasing: all[offset..<min(all.count, offset + min(step, all.count))])
                do throws(HTTPError) {
                    let n = try decoder.consume(piece)
                    XCTAssertTrue(n == piece.count || decoder.isComplete, "stops early only at the end")
                    total += n
                    offset += piece.count
                } catch {
                    return .failure(error)
                }
            }
            return decoder.isComplete ? .success(total) : .failure(HTTPError(status: 0, reason: "incomplete"))
        }
    }

    /// Complete in every piece size; ChunkedTranscoder agrees.
    func assertComplete(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        for step in [1, 2, 3, 7, Int.max] {
            XCTAssertEqual(try feed(text, step: step).get(), text.utf8.count, "step \(step)", file: file, line: line)
        }
        assertSameVerdict(Array(text.utf8), file: file, line: line)
    }

    /// Rejected in every piece size; ChunkedTranscoder rejects it with the same error.
    func assertRejected(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        for step in [1, Int.max] {
            switch feed(text, step: step) {
            case .success: XCTFail("accepted \(text.prefix(60).debugDescription)", file: file, line: line)
            case .failure(let e): XCTAssertEqual(e.status, 400, "\(e) step \(step) \(text.debugDescription)", file: file, line: line)
            }
        }
        assertSameVerdict(Array(text.utf8), file: file, line: line)
    }

    func testSimpleBody() {
        assertComplete("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assertComplete("0\r\n\r\n")
        assertComplete("A\r\n0123456789\r\nff\r\n\(String(repeating: "x", count: 255))\r\n0\r\n\r\n")
        assertComplete("000005\r\nhello\r\n00\r\n\r\n")
    }

    func testExtensionsAndTrailers() {
        assertComplete("5;name=value\r\nhello\r\n3 ; a ; b = \"q\\\"uo;ted\" ;c=d\r\nabc\r\n0;last\r\nX-Checksum: abc\r\nX-Other:\tv  \r\n\r\n")
        assertComplete("1;a=\"\"\r\nz\r\n0\r\n\r\n")
    }

    func testEndingMidBufferReturnsItsLength() throws {
        let body = "4\r\nwxyz\r\n0\r\nT: 1\r\n\r\n"
        let bytes = Array((body + "GET / HTTP/1.1\r\n").utf8)
        var decoder = ChunkedDecoder()
        let n = try bytes.withUnsafeBytes { try decoder.consume($0) }
        XCTAssertEqual(n, body.utf8.count)
        XCTAssertTrue(decoder.isComplete)
        XCTAssertEqual(try bytes.withUnsafeBytes { try decoder.consume($0) }, 0, "nothing more belongs to the body")
    }

    func testLargeChunkStreamsWithoutLookingAtData() throws {
        var decoder = ChunkedDecoder()
        let header = Array("100000\r\n".utf8)
        let data = [UInt8](repeating: 0x0A, count: 0x100000)
        XCTAssertEqual(try header.withUnsafeBytes { try decoder.consume($0) }, header.count)
        XCTAssertEqual(try data.withUnsafeBytes { try decoder.consume($0) }, data.count)
        XCTAssertFalse(decoder.isComplete)
        let end = Array("\r\n0\r\n\r\n".utf8)
        XCTAssertEqual(try end.withUnsafeBytes { try decoder.consume($0) }, end.count)
        XCTAssertTrue(decoder.isComplete)
    }

    func testBadChunkSize() {
        for size in ["", "g", "-1", "+1", "0x1", " 1", "1 ", "1\t", "1 x"] {
            assertRejected("\(size)\r\nx\r\n0\r\n\r\n")
        }
    }

    func testChunkSizeOverflow() {
        assertRejected("4000000000000001\r\n")
        assertRejected("10000000000000000\r\n")
        assertRejected("ffffffffffffffffffff\r\n")
        // 2^62 itself is accepted (and then awaits its data).
        XCTAssertNoThrow(try Array("4000000000000000\r\n".utf8).withUnsafeBytes { buffer in
            var d = ChunkedDecoder()
            _ = try d.consume(buffer)
        })
    }

    func testBadExtensions() {
        for ext in [";", "; ", ";=v", ";a=", ";a=\"x", ";a=b c", ";a b", ";a=\"\u{1}\"", ";a=(b)", ";a=b ;", ";a=\"x\"y", ";a ="] {
            assertRejected("1\(ext)\r\nx\r\n0\r\n\r\n")
        }
    }

    func testMissingCRLFAfterData() {
        assertRejected("5\r\nhello0\r\n\r\n")
        assertRejected("5\r\nhelloX\r\n0\r\n\r\n")
        assertRejected("5\r\nhello\rX0\r\n\r\n")
        assertRejected("5\r\nhello\n0\r\n\r\n")
    }

    func testBareLineEnds() {
        assertRejected("5\nhello\r\n0\r\n\r\n")
        assertRejected("5\rhello\r\n0\r\n\r\n")
        assertRejected("0\r\n\n")
        assertRejected("0\r\nX: 1\n\r\n")
        assertRejected("0\r\n\rX")
    }

    func testBadTrailers() {
        for trailer in ["X : 1\r\n", " X: 1\r\n", "X: 1\r\n folded\r\n", "X\u{1}: 1\r\n", "X: a\u{0}b\r\n", ": 1\r\n", "NoColon\r\n", "X: \u{7F}\r\n"] {
            assertRejected("0\r\n\(trailer)\r\n")
        }
    }

    func testSizeLineLimit() {
        // The line counts its CRLF: "1" ";a=" 4091 bytes CRLF is 4097 bytes.
        let ext = ";a=" + String(repeating: "b", count: 4091)
        assertRejected("1\(ext)\r\nx\r\n0\r\n\r\n")
        let fits = ";a=" + String(repeating: "b", count: 4090)
        assertComplete("1\(fits)\r\nx\r\n0\r\n\r\n")
    }

    func testTrailerSectionLimit() {
        let field = "X-A: " + String(repeating: "v", count: 1000) + "\r\n"
        assertRejected("0\r\n" + String(repeating: field, count: 17) + "\r\n")
        assertComplete("0\r\n" + String(repeating: field, count: 15) + "\r\n")
    }
}
