import HTTP2
import XCTest

final class ChunkFramingTests: XCTestCase {
    private func header(_ size: Int, capacity: Int = ChunkFraming.maxChunkHeader) -> String? {
        var out = [UInt8](repeating: 0, count: capacity)
        return out.withUnsafeMutableBytes { ChunkFraming.writeChunkHeader(size: size, into: $0) }.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    func testChunkHeaderIsLowercaseHexWithoutLeadingZeros() {
        XCTAssertEqual(header(1), "1\r\n")
        XCTAssertEqual(header(16_384), "4000\r\n")
        XCTAssertEqual(header(0xabcdef), "abcdef\r\n")
        XCTAssertEqual(header(Int.max), "7fffffffffffffff\r\n")
        XCTAssertNil(header(16_384, capacity: 5), "does not fit")
    }

    func testLastChunkCarriesTheTrailers() {
        var out = [UInt8](repeating: 0, count: 64)
        let trailers = Array("x-sum: 1\r\n".utf8)
        let n = out.withUnsafeMutableBytes { o in trailers.withUnsafeBytes { ChunkFraming.writeLastChunk(trailers: $0, into: o) } }
        XCTAssertEqual(n.map { String(decoding: out[0..<$0], as: UTF8.self) }, "0\r\nx-sum: 1\r\n\r\n")
        let empty = out.withUnsafeMutableBytes { ChunkFraming.writeLastChunk(trailers: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
        XCTAssertEqual(empty.map { String(decoding: out[0..<$0], as: UTF8.self) }, "0\r\n\r\n")
        XCTAssertEqual(String(decoding: ChunkFraming.chunkEnd, as: UTF8.self), "\r\n")
    }

    /// `overhead` is what the writers add: a chunk header and CRLF per payload, the last chunk
    /// around the trailers at the end.
    func testOverheadIsWhatTheWritersAdd() {
        for size in [1, 9, 15, 16, 255, 256, 4095, 4096, 16_384, 65_535, 1 << 24] {
            XCTAssertEqual(ChunkFraming.overhead(payload: size, end: false, trailers: 0),
                           header(size)!.utf8.count + ChunkFraming.chunkEnd.count, "payload \(size)")
        }
        XCTAssertEqual(ChunkFraming.overhead(payload: 0, end: false, trailers: 0), 0)
        XCTAssertEqual(ChunkFraming.overhead(payload: 0, end: true, trailers: 0), "0\r\n\r\n".utf8.count)
        XCTAssertEqual(ChunkFraming.overhead(payload: 1, end: true, trailers: 12), 5 + 5 + 12)
    }
}
