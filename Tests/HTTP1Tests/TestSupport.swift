import HTTP1
import XCTest

/// A parsed head together with the bytes its offsets point into.
struct Parsed<Head> {
    var head: Head
    var headers: HeaderTable
    var bytes: [UInt8]

    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    func name(_ i: Int) -> String {
        text(Int(headers[i].nameStart), Int(headers[i].nameEnd))
    }

    func value(_ i: Int) -> String {
        text(Int(headers[i].valueStart), Int(headers[i].valueEnd))
    }

    /// Index of the first field named `name` (case-insensitive).
    func index(of name: String) -> Int? {
        (0..<headers.count).first { self.name($0).lowercased() == name.lowercased() }
    }

    func isHopByHop(_ name: String) -> Bool? {
        index(of: name).map { headers[$0].hopByHop }
    }
}

/// Finds the head's end as the proxy does (the whole input when no end is found) and parses it.
func headLength(_ bytes: [UInt8]) -> Int {
    bytes.withUnsafeBytes { HeadScanner.headEnd(in: $0, searchFrom: 0) } ?? bytes.count
}

func parseRequest(_ text: String, capacity: Int = 128) -> Result<Parsed<RequestHead>, HTTPError> {
    parseRequest(Array(text.utf8), capacity: capacity)
}

func parseRequest(_ bytes: [UInt8], capacity: Int = 128) -> Result<Parsed<RequestHead>, HTTPError> {
    let table = HeaderTable(capacity: capacity)
    let length = headLength(bytes)
    return bytes.withUnsafeBytes { buffer in
        do throws(HTTPError) {
            let head = try RequestParser.parse(buffer, headLength: length, headers: table)
            return .success(Parsed(head: head, headers: table, bytes: bytes))
        } catch {
            return .failure(error)
        }
    }
}

func parseResponse(_ text: String, method: HTTP1.Method = .get) -> Result<Parsed<ResponseHead>, HTTPError> {
    let bytes = Array(text.utf8)
    let table = HeaderTable()
    let length = headLength(bytes)
    return bytes.withUnsafeBytes { buffer in
        do throws(HTTPError) {
            let head = try ResponseParser.parse(buffer, headLength: length, requestMethod: method, headers: table)
            return .success(Parsed(head: head, headers: table, bytes: bytes))
        } catch {
            return .failure(error)
        }
    }
}

func requireRequest(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> Parsed<RequestHead> {
    switch parseRequest(text) {
    case .success(let p): return p
    case .failure(let e):
        XCTFail("unexpected rejection \(e)", file: file, line: line)
        throw e
    }
}

func requireResponse(_ text: String, method: HTTP1.Method = .get, file: StaticString = #filePath, line: UInt = #line) throws -> Parsed<ResponseHead> {
    switch parseResponse(text, method: method) {
    case .success(let p): return p
    case .failure(let e):
        XCTFail("unexpected rejection \(e)", file: file, line: line)
        throw e
    }
}

func assertRequestRejected(_ text: String, _ status: Int, file: StaticString = #filePath, line: UInt = #line) {
    assertRequestRejected(Array(text.utf8), status, file: file, line: line)
}

func assertRequestRejected(_ bytes: [UInt8], _ status: Int, file: StaticString = #filePath, line: UInt = #line) {
    switch parseRequest(bytes) {
    case .success: XCTFail("accepted: \(String(decoding: bytes, as: UTF8.self).debugDescription)", file: file, line: line)
    case .failure(let e): XCTAssertEqual(e.status, status, "\(e)", file: file, line: line)
    }
}

func assertResponseRejected(_ text: String, method: HTTP1.Method = .get, file: StaticString = #filePath, line: UInt = #line) {
    switch parseResponse(text, method: method) {
    case .success: XCTFail("accepted: \(text.debugDescription)", file: file, line: line)
    case .failure(let e): XCTAssertEqual(e.status, 502, "\(e)", file: file, line: line)
    }
}

extension UnsafeRawBufferPointer {
    var string: String { String(decoding: self, as: UTF8.self) }
}
