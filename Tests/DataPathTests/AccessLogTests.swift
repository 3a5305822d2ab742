import Config
import Glibc
import XCTest
@testable import DataPath

/// The access log's file side: batched writes, and nothing lost when the log takes less than
/// it is offered (a pipe that is full, a short write).
final class AccessLogTests: XCTestCase {
    private let storage = UnsafeMutableRawPointer.allocate(byteCount: RequestLine.storageSize, alignment: 8)

    private func entry(_ n: Int, _ body: (AccessEntry) -> Void) {
        let target = "/line-\(n)-" + String(repeating: "x", count: 200)
        let line = Array("GET \(target) HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { RequestLine(rejected: $0, storage: storage) }
        Array("web".utf8).withUnsafeBytes { fe in
            Array("127.0.0.1".utf8).withUnsafeBytes { client in
                body(AccessEntry(frontend: fe, client: client, line: line, status: 200, bytes: n,
                                 upstream: UnsafeRawBufferPointer(start: nil, count: 0), totalMicros: 0, upstreamMicros: -1))
            }
        }
    }

    private func drain(_ fd: Int32, into data: inout [UInt8]) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            data += chunk[0..<n]
        }
    }

    func testAFullPipeKeepsTheRestForTheNextFlush() throws {
        let path = "/tmp/sluice-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).fifo"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let clock = LogClock()
        clock.update(seconds: 0)
        let log = AccessLog(target: .file(path), format: .combined, logger: Logger(target: .stderr, level: .error), clock: clock)

        let count = 2000  // about 500 KB: several times what the pipe holds
        var data: [UInt8] = []
        for n in 0..<count {
            entry(n) { log.append($0) }
            if n % 300 == 0 { drain(reader, into: &data) }   // a slow reader
        }
        for _ in 0..<100 {
            log.flush()
            drain(reader, into: &data)
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, count, "every line, once")
        for (n, line) in lines.enumerated() {
            XCTAssertTrue(line.contains("\"GET /line-\(n)-"), "line \(n) out of order or cut: \(line.prefix(80))")
        }
    }
}
