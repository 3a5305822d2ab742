import HTTP1
import XCTest

/// What a transcoder made of a whole input, fed as the data path feeds it.
struct Transcoded: Equatable {
    var output: [UInt8]
    /// `.dechunk`: the kept trailer lines.
    var trailers: [UInt8] = []
    /// The bytes after the body (nil while the body is incomplete).
    var rest: [UInt8]?
    var total = 0
}

/// Feeds `input` in pieces ending at `ends`: each call's region is the bytes the last call held,
/// then the new piece; what the region still holds after the output is kept for the next call.
func transcode(_ input: [UInt8], _ mode: ChunkedTranscoder.Mode, ends: [Int]) throws(HTTPError) -> Transcoded {
    var t = ChunkedTranscoder(mode: mode)
    var result = Transcoded(output: [])
    var held: [UInt8] = []
    var at = 0
    for end in ends {
        var region = held + input[at..<end]
        at = end
        let r = try transcodeOnce(&t, &region)
        result.output += region[0..<r.output]
        result.total = t.total
        if t.isComplete {
            result.trailers = Array(region[r.output..<(r.output + t.trailerLength)])
            result.rest = Array(region[(r.output + t.trailerLength)..<r.length] + input[end...])
            return result
        }
        XCTAssertEqual(r.length, r.output + t.held, "the region ends with the held bytes")
        held = Array(region[r.output..<r.length])
    }
    return result
}

/// One call over the whole of `region`.
func transcodeOnce(_ t: inout ChunkedTranscoder, _ region: inout [UInt8]) throws(HTTPError) -> (output: Int, length: Int) {
    try region.withUnsafeMutableBytes { b in Result { () throws(HTTPError) in try t.transcode(b) } }.get()
}

func transcode(_ text: String, _ mode: ChunkedTranscoder.Mode = .canonical) throws(HTTPError) -> Transcoded {
    let bytes = Array(text.utf8)
    return try transcode(bytes, mode, ends: [bytes.count])
}

final class ChunkedTranscoderTests: XCTestCase {
    func assertCanonical(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try transcode(input)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), expected, file: file, line: line)
        XCTAssertEqual(r.rest, [], file: file, line: line)
        XCTAssertEqual(r.total, input.utf8.count, "total counts wire bytes", file: file, line: line)
        XCTAssertEqual(try transcode(expected).output, Array(expected.utf8), "canonical input comes out unchanged", file: file, line: line)
    }

    func testCanonicalInputIsUnchanged() throws {
        try assertCanonical("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        try assertCanonical("0\r\n\r\n", "0\r\n\r\n")
        try assertCanonical("1\r\n\r\r\n0\r\nX: y\r\n\r\n", "1\r\n\r\r\n0\r\nX: y\r\n\r\n")
    }

    func testSizesLoseLeadingZerosAndUppercase() throws {
        try assertCanonical("0005\r\nhello\r\n000\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n")
        let ff = String(repeating: "x", count: 255)
        try assertCanonical("A\r\n0123456789\r\n00FF\r\n\(ff)\r\n0\r\n\r\n", "a\r\n0123456789\r\nff\r\n\(ff)\r\n0\r\n\r\n")
        try assertCanonical("0000000000000000000000001\r\nx\r\n0\r\n\r\n", "1\r\nx\r\n0\r\n\r\n")
    }

    func testExtensionsAreDropped() throws {
        try assertCanonical("5;name=value\r\nhello\r\n3 ; a ; b = \"q\\\"uo;ted\" ;c=d\r\nabc\r\n0;last\r\n\r\n",
                            "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n")
        try assertCanonical("1;a=\"\"\r\nz\r\n1\t;x\r\ny\r\n0 ;q=\"a;b\"\r\n\r\n", "1\r\nz\r\n1\r\ny\r\n0\r\n\r\n")
    }

    /// Trailer fields naming a field the proxy manages, each dropped.
    let managed = ["Content-Length: 5", "transfer-encoding: chunked", "Host: h", "Trailer: X", "Connection: close",
                   "Keep-Alive: 1", "TE: trailers", "Upgrade: x", "Proxy-Connection: y", "X-Forwarded-For: 1",
                   "X-Forwarded-Proto: a", "X-Forwarded-Host: a", "X-FORWARDED-PORT: 1", "Forwarded: for=x", "Expect: a"]

    func testTrailersKeptAndDropped() throws {
        let dropped = managed.map { $0 + "\r\n" }.joined()
        try assertCanonical("3\r\nabc\r\n0\r\nX-Checksum: abc\r\n\(dropped)X-Other:\tv  \r\nContent_Length: 1\r\n\r\n",
                            "3\r\nabc\r\n0\r\nX-Checksum: abc\r\nX-Other:\tv  \r\nContent_Length: 1\r\n\r\n")
        try assertCanonical("0\r\n\(dropped)\r\n", "0\r\n\r\n")
    }

    func testDechunkOutputsDataAndTrailerFields() throws {
        let dropped = managed.map { $0 + "\r\n" }.joined()
        let r = try transcode("05;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-Checksum:  abc \r\n\(dropped)X-Empty:\r\nWWW-Thing:v\r\n\r\n", .dechunk)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "hello!")
        XCTAssertEqual(String(decoding: r.trailers, as: UTF8.self), "x-checksum:abc\r\nx-empty:\r\nwww-thing:v\r\n")
        XCTAssertEqual(r.rest, [])
        var fields: [String] = []
        r.trailers.withUnsafeBytes { lines in
            var it = TrailerFields(lines)
            while let (name, value) = it.next() { fields.append("\(name.string)=\(value.string)") }
        }
        XCTAssertEqual(fields, ["x-checksum=abc", "x-empty=", "www-thing=v"])
        XCTAssertEqual(try transcode("0\r\n\r\n", .dechunk), Transcoded(output: [], rest: [], total: 5))
    }

    /// Inputs for the split tests: every kind of line, held across calls at every byte.
    let bodies = [
        "5\r\nhello\r\n0\r\n\r\n",
        "000A;ext=\"q\\\"x\" ; b\r\n0123456789\r\nF\r\nabcdefghijklmno\r\n0;z\r\n\r\n",
        "3\r\nabc\r\n0\r\nX-A: 1\r\nHost: h\r\nx-b:2 \r\n\r\n",
        "0\r\nContent-Length: 1\r\n\r\n",
    ]

    func testEverySplitGivesTheSameOutput() throws {
        for mode in [ChunkedTranscoder.Mode.canonical, .dechunk] {
            for body in bodies {
                let input = Array(body.utf8)
                let whole = try transcode(input, mode, ends: [input.count])
                XCTAssertEqual(try transcode(input, mode, ends: Array(1...input.count)), whole, "byte by byte: \(body.debugDescription)")
                for i in 0...input.count {
                    for j in i...input.count {
                        let ends = [i, j, input.count]
                        XCTAssertEqual(try transcode(input, mode, ends: ends), whole, "\(mode) split at \(ends): \(body.debugDescription)")
                    }
                }
            }
        }
    }

    func testBodyEndingInsideTheRegionLeavesTheNextMessage() throws {
        let next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
        for mode in [ChunkedTranscoder.Mode.canonical, .dechunk] {
            for body in bodies {
                let input = Array((body + next).utf8)
                let alone = try transcode(Array(body.utf8), mode, ends: [body.utf8.count])
                for split in 0...input.count {
                    var r = try transcode(input, mode, ends: [split, input.count])
                    XCTAssertEqual(r.rest.map { String(decoding: $0, as: UTF8.self) }, next, "\(mode) split at \(split)")
                    r.rest = []
                    XCTAssertEqual(r, alone, "\(mode) split at \(split)")
                }
            }
        }
    }

    func testNothingIsTakenOnceComplete() throws {
        var t = ChunkedTranscoder(mode: .canonical)
        var bytes = Array("0\r\n\r\nGET".utf8)
        let r = try transcodeOnce(&t, &bytes)
        XCTAssertEqual(r.output, 5)
        XCTAssertEqual(r.length, 8)
        XCTAssertTrue(t.isComplete)
        var more = Array("xyz".utf8)
        let again = try transcodeOnce(&t, &more)
        XCTAssertEqual(again.output, 0)
        XCTAssertEqual(again.length, 3)
        XCTAssertEqual(more, Array("xyz".utf8))
    }

    func testLargeChunkIsMovedDownWhole() throws {
        let data = (0..<0x12345).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let input = Array("0012345;big\r\n".utf8) + data + Array("\r\n0\r\n\r\n".utf8)
        let expected = Array("12345\r\n".utf8) + data + Array("\r\n0\r\n\r\n".utf8)
        XCTAssertEqual(try transcode(input, .canonical, ends: [input.count]).output, expected)
        XCTAssertEqual(try transcode(input, .canonical, ends: [3, 20, 5000, 0x10000, input.count - 3, input.count]).output, expected)
        XCTAssertEqual(try transcode(input, .dechunk, ends: [9, 14, 70000, input.count]).output, data)
    }

    func testRejectionsMatchTheDecoder() {
        // A sample of each kind; ChunkedDecoderTests checks every one of its cases against both.
        for text in ["g\r\n", "5\nhello", "5\r\nhelloX", "1;=v\r\n", "0\r\nX : 1\r\n", "4000000000000001\r\n", "0\r\n\rX"] {
            assertSameVerdict(Array(text.utf8))
        }
    }

    func testSizeLineLimitHoldsUpToTheLimit() throws {
        // The line counts its CRLF: 4096 bytes pass, 4097 do not, however they arrive.
        let fits = Array("1;a=\(String(repeating: "b", count: 4090))\r\nx\r\n0\r\n\r\n".utf8)
        for ends in [[fits.count], [4000, 4095, fits.count], Array(stride(from: 100, to: fits.count, by: 100)) + [fits.count]] {
            XCTAssertEqual(try transcode(fits, .canonical, ends: ends).output, Array("1\r\nx\r\n0\r\n\r\n".utf8))
        }
        let tooLong = Array("1;a=\(String(repeating: "b", count: 4091))\r\nx\r\n0\r\n\r\n".utf8)
        XCTAssertThrowsError(try transcode(tooLong, .canonical, ends: [4000, tooLong.count]))
        XCTAssertLessThanOrEqual(4096, ChunkedTranscoder.maxHeld)
    }

    func testTrailerSectionLimit() throws {
        let field = "X-A: " + String(repeating: "v", count: 1000) + "\r\n"
        let fits = Array(("0\r\n" + String(repeating: field, count: 16) + "\r\n").utf8)
        XCTAssertEqual(fits.count - 3, 16 * 1007 + 2)
        let r = try transcode(fits, .dechunk, ends: Array(stride(from: 1000, to: fits.count, by: 1000)) + [fits.count])
        XCTAssertEqual(r.trailers.count, 16 * 1006, "x-a:, the value, CRLF")
        let tooLarge = Array(("0\r\n" + String(repeating: field, count: 17) + "\r\n").utf8)
        XCTAssertThrowsError(try transcode(tooLarge, .dechunk, ends: [tooLarge.count]))
    }
}

/// The decoder and both transcoder modes, fed whole and byte by byte, agree on where the body ends
/// (or that it has not ended) and on the error.
func assertSameVerdict(_ input: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
    func decoderVerdict(_ step: Int) -> String {
        var d = ChunkedDecoder()
        var at = 0
        return input.withUnsafeBytes { all in
            do throws(HTTPError) {
                while at < all.count && !d.isComplete {
                    at += try d.consume(UnsafeRawBufferPointer(rebasing: all[at..<min(all.count, at + step)]))
                }
                return d.isComplete ? "complete at \(at)" : "incomplete"
            } catch {
                return "\(error)"
            }
        }
    }
    func transcoderVerdict(_ mode: ChunkedTranscoder.Mode, _ step: Int) -> String {
        let ends = Array(stride(from: min(step, input.count), to: input.count, by: step)) + [input.count]
        do throws(HTTPError) {
            let r = try transcode(input, mode, ends: ends)
            return r.rest.map { "complete at \(input.count - $0.count)" } ?? "incomplete"
        } catch {
            return "\(error)"
        }
    }
    let expected = decoderVerdict(Int.max)
    XCTAssertEqual(decoderVerdict(1), expected, "decoder byte by byte", file: file, line: line)
    for mode in [ChunkedTranscoder.Mode.canonical, .dechunk] {
        for step in [1, Int.max] {
            XCTAssertEqual(transcoderVerdict(mode, step), expected, "\(mode) step \(step): \(input.prefix(60))", file: file, line: line)
        }
    }
}
