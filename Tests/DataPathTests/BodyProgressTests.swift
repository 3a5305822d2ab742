import EventLoop
import HTTP1
import XCTest
@testable import DataPath

/// A body streaming through a buffer: bytes arrive at its end, `ready` ones leave from its start.
final class BodyProgressTests: XCTestCase {
    private let pool = BufferPool(size: 64 * 1024)
    private var buffer = Buffer()

    override func setUp() {
        pool.take(&buffer)
    }

    override func tearDown() {
        pool.give(&buffer)
    }

    /// Bytes arriving from the network.
    private func arrive(_ text: String) {
        let bytes = Array(text.utf8)
        (buffer.base! + buffer.end).copyMemory(from: bytes, byteCount: bytes.count)
        buffer.end += bytes.count
    }

    /// Forwards the ready bytes (as a socket write would) and returns them.
    private func forward(_ body: inout BodyProgress) -> String {
        let out = String(decoding: UnsafeRawBufferPointer(start: buffer.base! + buffer.start, count: body.ready), as: UTF8.self)
        buffer.start += body.ready
        body.ready = 0
        return out
    }

    private var rest: String { String(decoding: buffer.bytes, as: UTF8.self) }

    func testNoBodyIsDoneAtOnce() throws {
        var body = BodyProgress(.none)
        XCTAssertTrue(body.done)
        arrive("GET / HTTP/1.1\r\n")
        try body.absorb(&buffer)
        XCTAssertEqual(body.ready, 0, "the next request's bytes are not body")
    }

    func testContentLengthEndsInsideTheBytes() throws {
        var body = BodyProgress(.contentLength(5))
        arrive("abc")
        try body.absorb(&buffer)
        XCTAssertEqual(forward(&body), "abc")
        XCTAssertFalse(body.done)
        arrive("deNEXT")
        try body.absorb(&buffer)
        XCTAssertEqual(forward(&body), "de")
        XCTAssertTrue(body.done)
        XCTAssertEqual(body.total, 5)
        XCTAssertEqual(rest, "NEXT")
        XCTAssertTrue(BodyProgress(.contentLength(0)).done)
    }

    /// A chunked body goes on in canonical form, rewritten in the buffer; what follows it stays.
    func testChunkedIsRewrittenInCanonicalForm() throws {
        var body = BodyProgress(.chunked)
        arrive("003;ext=1\r\nabc\r\n00")
        try body.absorb(&buffer)
        XCTAssertEqual(forward(&body), "3\r\nabc\r\n", "the incomplete size line is held")
        XCTAssertFalse(body.done)
        arrive("0\r\n\r\nGET")
        try body.absorb(&buffer)
        XCTAssertEqual(forward(&body), "0\r\n\r\n")
        XCTAssertTrue(body.done)
        XCTAssertEqual(rest, "GET")
        XCTAssertEqual(body.total, 23, "wire bytes, framing included")
    }

    func testBadChunkedFramingThrows() {
        var body = BodyProgress(.chunked)
        arrive("zz\r\n")
        XCTAssertThrowsError(try body.absorb(&buffer))
    }

    func testUntilCloseTakesEverything() throws {
        var body = BodyProgress(.untilClose)
        arrive("anything")
        try body.absorb(&buffer)
        XCTAssertEqual(body.ready, 8)
        XCTAssertFalse(body.done, "only the end of the connection ends it")
    }
}
