import CLinux
import EventLoop
import Glibc
import XCTest
@testable import DataPath

/// Readiness bookkeeping of an endpoint over a real socket pair.
final class EndpointTests: XCTestCase {
    private var fds: [Int32] = [-1, -1]

    override func setUpWithError() throws {
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | SL_SOCK_NONBLOCK, 0, &fds), 0)
    }

    override func tearDown() {
        for fd in fds where fd >= 0 { close(fd) }
    }

    private func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
    }

    /// A short read empties the socket: readiness is cleared without another read for EAGAIN.
    func testShortReadClearsReadable() {
        var e = Endpoint(fd: fds[0], writable: true)
        send("hello")
        e.note(SL_EPOLLIN)
        var buffer = [UInt8](repeating: 0, count: 64)
        let result = buffer.withUnsafeMutableBytes { e.read($0.baseAddress!, $0.count) }
        XCTAssertEqual(result, .bytes(5))
        XCTAssertFalse(e.readable)
        XCTAssertFalse(e.eof)
    }

    /// Once the peer's FIN was reported, the short read that drains the socket is also its end.
    func testShortReadAfterPeerCloseIsEndOfStream() {
        var e = Endpoint(fd: fds[0], writable: true)
        send("bye")
        shutdown(fds[1], Int32(SHUT_WR))
        e.note(SL_EPOLLIN | SL_EPOLLRDHUP)
        var buffer = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { e.read($0.baseAddress!, $0.count) }, .bytes(3))
        XCTAssertTrue(e.eof)
    }

    func testFullReadKeepsReadable() {
        var e = Endpoint(fd: fds[0], writable: true)
        send("0123456789")
        e.note(SL_EPOLLIN)
        var buffer = [UInt8](repeating: 0, count: 4)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { e.read($0.baseAddress!, $0.count) }, .bytes(4))
        XCTAssertTrue(e.readable, "more may be queued")
    }

    func testWriteUntilFullClearsWritable() {
        var e = Endpoint(fd: fds[0], writable: true)
        let chunk = [UInt8](repeating: 7, count: 1 << 20)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { scratch.deallocate() }
        var rounds = 0
        while e.writable && rounds < 100 {
            _ = chunk.withUnsafeBytes { e.write($0, UnsafeRawBufferPointer(start: nil, count: 0), scratch: scratch) }
            rounds += 1
        }
        XCTAssertFalse(e.writable, "a short write means the socket is full")
        e.note(SL_EPOLLOUT)
        XCTAssertTrue(e.writable)
    }

    func testHalfCloseAndRelease() {
        var e = Endpoint(fd: fds[0], writable: true)
        e.shutdownWrite()
        XCTAssertTrue(e.shut)
        var byte: UInt8 = 0
        XCTAssertEqual(read(fds[1], &byte, 1), 0, "the peer sees end of stream")
        XCTAssertEqual(e.release(), fds[0])
        XCTAssertFalse(e.isOpen)
    }
}
