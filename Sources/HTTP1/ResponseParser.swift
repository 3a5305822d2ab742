/// Strict RFC 9112 parsing of an upstream's response head; every fault is a 502.
public enum ResponseParser {
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public static func parse(_ buffer: UnsafeRawBufferPointer, headLength: Int, requestMethod: Method,
                             headers: HeaderTable) throws(HTTPError) -> ResponseHead {
        precondition(headLength <= buffer.count && headLength <= Int(Int32.max), "head length beyond buffer")
        let p = buffer
        let end = headLength
        headers.reset()

        // status-line = HTTP-version SP 3DIGIT [ SP reason-phrase ] CRLF
        var pos = 0
        while pos < end && p[pos] > SP { pos += 1 }
        let version: HTTPVersion
        switch VersionToken.parse(p, 0, pos) {
        case .http10: version = .http10
        case .http11: version = .http11
        case .unsupported, .malformed: throw bad("invalid status line version")
        }
        guard pos + 4 <= end, p[pos] == SP,
              Bytes.isDigit(p[pos + 1]), Bytes.isDigit(p[pos + 2]), Bytes.isDigit(p[pos + 3])
        else { throw bad("invalid status code") }
        let status = Int(p[pos + 1] &- 0x30) * 100 + Int(p[pos + 2] &- 0x30) * 10 + Int(p[pos + 3] &- 0x30)
        guard status >= 100 && status <= 599 else { throw bad("invalid status code") }
        pos += 4
        if pos < end && p[pos] == SP {
            pos += 1
            while pos < end && (Bytes.isFieldVchar(p[pos]) || Bytes.isWhitespace(p[pos])) { pos += 1 }
        }
        pos = try HeadLines.lineEnd(p, pos, end, status: 502)

        try HeadLines.parseFields(p, from: pos, headLength: end, headers: headers, status: 502, tableFullStatus: 502)
        let s = try FieldRules.summarize(p, headers: headers, status: 502)
        // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
        if s.hasTransferEncoding && version == .http10 { throw bad("transfer-encoding in http/1.0") }

        let framing: BodyFraming
        if requestMethod == .head || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if s.hasTransferEncoding {
            // RFC 9112 6.3: without a final chunked coding the body runs until the connection closes.
            framing = s.lastCodingIsChunked ? .chunked : .untilClose
        } else if s.contentLength >= 0 {
            framing = .contentLength(s.contentLength)
        } else {
            framing = .untilClose
        }
        let reusable = version == .http11 ? !s.close : s.keepAliveToken && !s.close
        return ResponseHead(status: status, version: version, headLength: headLength, framing: framing,
                            keepAlive: reusable && framing != .untilClose,
                            isInterim: status < 200 && status != 101)
    }

    @inline(__always) static func bad(_ reason: StaticString) -> HTTPError {
        HTTPError(status: 502, reason: reason)
    }
}
