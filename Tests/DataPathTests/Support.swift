import HTTP1
import XCTest

/// Parses `text` as a request head and hands the head, its fields and its bytes to `body`.
func withRequest<R>(_ text: String, _ body: (RequestHead, HeaderTable, UnsafeRawBufferPointer) throws -> R) throws -> R {
    let bytes = Array(text.utf8)
    let headers = HeaderTable()
    return try bytes.withUnsafeBytes { raw in
        let end = try XCTUnwrap(HeadScanner.headEnd(in: raw, searchFrom: 0), "incomplete head")
        let head = try RequestParser.parse(raw, headLength: end, headers: headers)
        return try body(head, headers, raw)
    }
}

extension UnsafeRawBufferPointer {
    var text: String { String(decoding: self, as: UTF8.self) }
}
