// An upstream's HTTP/1.1 response (what ResponseParser produced) becomes HTTP/2 header fields:
// :status, then every field but the connection-specific ones (Connection and the fields it
// names, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE), values unchanged. nghttp2
// lowercases the names as it copies them. Content-Length goes out once in canonical form, and
// not at all with 1xx and 204 (SPEC §3).

import HTTP1

enum ResponseMapping {
    static func fill(_ nv: inout NVList, head: ResponseHead, headers: HeaderTable, source: UnsafeRawBufferPointer) {
        nv.removeAll()
        nv.appendStatus(head.status)
        var contentLength = -1
        if case .contentLength(let n) = head.framing { contentLength = n }
        for i in 0..<headers.count {
            let f = headers[i]
            if f.hopByHop || f.known == .transferEncoding { continue }
            let value = bytes(source, f.valueStart, f.valueEnd)
            if f.known == .contentLength {
                // Without a body (HEAD, 304) the field still describes one; the parser checked it.
                if contentLength < 0 { contentLength = leadingDecimal(value) }
                continue
            }
            nv.append(bytes(source, f.nameStart, f.nameEnd), value)
        }
        if contentLength >= 0 && head.status >= 200 && head.status != 204 {
            nv.appendContentLength(contentLength)
        }
    }

    /// Trailer fields after a chunked body: "name: value" CRLF lines, as ChunkedDecoder validated
    /// them (a final empty line may follow). Fields that may not be trailers are left out.
    static func fillTrailers(_ nv: inout NVList, section: UnsafeRawBufferPointer) {
        nv.removeAll()
        var pos = 0
        while pos < section.count && section[pos] != 0x0D {
            let nameStart = pos
            while pos < section.count && section[pos] != 0x3A { pos += 1 }
            let name = UnsafeRawBufferPointer(rebasing: section[nameStart..<pos])
            pos += 1
            var lineEnd = pos
            while lineEnd < section.count && section[lineEnd] != 0x0D { lineEnd += 1 }
            var valueStart = pos
            var valueEnd = lineEnd
            while valueStart < valueEnd && isWhitespace(section[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart && isWhitespace(section[valueEnd - 1]) { valueEnd -= 1 }
            if !name.isEmpty && isAllowedInTrailers(name) {
                nv.append(name, UnsafeRawBufferPointer(rebasing: section[valueStart..<valueEnd]))
            }
            pos = lineEnd + 2
        }
    }

    /// Framing, routing and connection-specific fields are not trailers (RFC 9110 §6.5.1, RFC 9113 §8.2.2).
    private static func isAllowedInTrailers(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 2: return !FieldName.equalsIgnoringCase(name, "te")
        case 4: return !FieldName.equalsIgnoringCase(name, "host")
        case 7: return !FieldName.equalsIgnoringCase(name, "upgrade") && !FieldName.equalsIgnoringCase(name, "trailer")
        case 10: return !FieldName.equalsIgnoringCase(name, "connection") && !FieldName.equalsIgnoringCase(name, "keep-alive")
        case 14: return !FieldName.equalsIgnoringCase(name, "content-length")
        case 16: return !FieldName.equalsIgnoringCase(name, "proxy-connection")
        case 17: return !FieldName.equalsIgnoringCase(name, "transfer-encoding")
        default: return true
        }
    }

    private static func bytes(_ source: UnsafeRawBufferPointer, _ start: Int32, _ end: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: source[Int(start)..<Int(end)])
    }

    /// The digits that open a Content-Length value (a list repeats one number).
    private static func leadingDecimal(_ value: UnsafeRawBufferPointer) -> Int {
        var n = 0
        for b in value {
            guard b &- 0x30 < 10, n < Int.max / 10 - 9 else { break }
            n = n * 10 + Int(b &- 0x30)
        }
        return n
    }

    private static func isWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09
    }
}
