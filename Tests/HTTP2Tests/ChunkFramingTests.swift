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
}
