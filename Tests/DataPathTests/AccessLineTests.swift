import HTTP1
import XCTest
@testable import DataPath

/// Access-log lines as the formatter writes them, and the request fields they are made from.
final class AccessLineTests: XCTestCase {
    private let storage = UnsafeMutableRawPointer.allocate(byteCount: RequestLine.storageSize, alignment: 8)
    private let clock = LogClock()

    override func setUp() {
        clock.update(seconds: 1_795_000_000)  // 2026-11-18T11:06:40Z
    }

    private func format(_ line: RequestLine, json: Bool = false, status: Int = 200, upstream: String = "127.0.0.1:9001",
                        upstreamMicros: Int64 = 1_500) -> String {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 8192)
        defer { buffer.deallocate() }
        var f = LineFormatter(buffer: buffer, used: 0, clock: clock)
        Array("web".utf8).withUnsafeBytes { fe in
            Array("10.0.0.1".utf8).withUnsafeBytes { client in
                Array(upstream.utf8).withUnsafeBytes { up in
                    let e = AccessEntry(frontend: fe, client: client, line: line, status: status, bytes: 1234,
                                        upstream: up, totalMicros: 2_345, upstreamMicros: upstreamMicros)
                    XCTAssertLessThanOrEqual(e.worstLength, 8192)
                    if json { f.json(e) } else { f.combined(e) }
                }
            }
        }
        return String(decoding: UnsafeBufferPointer(start: buffer, count: f.used), as: UTF8.self)
    }

    private func parsed(_ request: String) throws -> RequestLine {
        try withRequest(request) { head, headers, raw in RequestLine(head, headers: headers, source: raw, storage: storage) }
    }

    func testCombined() throws {
        let line = try parsed("GET /a?b=1 HTTP/1.1\r\nHost: h\r\nReferer: http://r/\r\nUser-Agent: curl/8\r\n\r\n")
        XCTAssertEqual(format(line), "10.0.0.1 - - [18/Nov/2026:11:06:40 +0000] \"GET /a?b=1 HTTP/1.1\" 200 1234 "
                                     + "\"http://r/\" \"curl/8\" \"127.0.0.1:9001\" 0.002 0.001\n")
    }

    func testJSON() throws {
        let line = try parsed("POST /p HTTP/1.0\r\nUser-Agent: a \"quoted\" agent\r\n\r\n")
        XCTAssertEqual(format(line, json: true, upstream: "", upstreamMicros: -1),
                       "{\"time\":\"2026-11-18T11:06:40Z\",\"frontend\":\"web\",\"client\":\"10.0.0.1\",\"method\":\"POST\","
                       + "\"target\":\"/p\",\"protocol\":\"HTTP/1.0\",\"status\":200,\"bytes\":1234,\"referer\":\"\","
                       + "\"user_agent\":\"a \\\"quoted\\\" agent\",\"upstream\":null,\"request_time\":0.002,\"upstream_time\":null}\n")
    }

    /// A request the parser refused is logged with what its first line held; bytes that could
    /// break the line are escaped.
    func testRejectedRequestLine() {
        let raw = Array("GET /x\"y HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n".utf8)
        let line = raw.withUnsafeBytes { RequestLine(rejected: $0, storage: storage) }
        XCTAssertEqual(line.method.text, "GET")
        XCTAssertEqual(line.version.text, "HTTP/1.0")
        XCTAssertTrue(format(line, status: 400).contains("\"GET /x\\x22y HTTP/1.0\" 400 "))
        let garbage = Array("\u{1}\r\n\r\n".utf8).withUnsafeBytes { RequestLine(rejected: $0, storage: storage) }
        XCTAssertTrue(format(garbage, status: 400).contains("\"\\x01  \" 400"))
    }

    func testNothingReadIsADash() {
        XCTAssertTrue(format(RequestLine(), status: 408).contains(" \"-\" 408 "))
    }

    func testLongFieldsAreCut() throws {
        let target = "/" + String(repeating: "t", count: 5000)
        let line = try parsed("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(line.target.count, RequestLine.targetCapacity)
    }
}
