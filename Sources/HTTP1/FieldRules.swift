// Content-Length, Transfer-Encoding, Connection, Host, Upgrade and Expect: what the fields of a
// head say about framing and the connection, shared by requests and responses.

struct FieldSummary {
    /// -1 when absent.
    var contentLength = -1
    var hasTransferEncoding = false
    var codingCount = 0
    var lastCodingIsChunked = false
    var close = false
    var keepAliveToken = false
    var upgradeToken = false
    var upgradeWebSocket = false
    var hostCount = 0
    var hostIndex = -1
    /// An expectation other than 100-continue (417).
    var expectOther = false
}

enum FieldRules {
    /// Reads the framing and connection fields, marks the headers that Connection names as
    /// hop-by-hop, and rejects malformed or conflicting framing with `status`.
    static func summarize(_ p: UnsafeRawBufferPointer, headers: HeaderTable, status: Int) throws(HTTPError) -> FieldSummary {
        var s = FieldSummary()
        var chunkedCount = 0
        for i in 0..<headers.count {
            let f = headers.fields[i]
            switch f.known {
            case .contentLength:
                guard let n = contentLength(p, f) else { throw HTTPError(status: status, reason: "invalid content-length") }
                if s.contentLength >= 0 && s.contentLength != n {
                    throw HTTPError(status: status, reason: "differing content-lengths")
                }
                s.contentLength = n
            case .transferEncoding:
                s.hasTransferEncoding = true
                guard transferCodings(p, f, &s, &chunkedCount) else {
                    throw HTTPError(status: status, reason: "invalid transfer-encoding")
                }
            case .connection:
                connectionOptions(p, f, headers, &s)
            case .host:
                s.hostCount += 1
                s.hostIndex = i
            case .upgrade:
                var list = ListElements(p, f)
                while let e = list.next() {
                    // protocol-name ["/" protocol-version]
                    var nameEnd = e.start
                    while nameEnd < e.end && p[nameEnd] != 0x2F { nameEnd += 1 }
                    if Bytes.equals(p, e.start, nameEnd, "websocket") { s.upgradeWebSocket = true }
                }
            case .expect:
                var list = ListElements(p, f)
                while let e = list.next() {
                    if !Bytes.equals(p, e.start, e.end, "100-continue") { s.expectOther = true }
                }
            default:
                break
            }
        }
        if chunkedCount > 1 { throw HTTPError(status: status, reason: "chunked applied twice") }
        if s.hasTransferEncoding && s.contentLength >= 0 {
            throw HTTPError(status: status, reason: "both content-length and transfer-encoding")
        }
        return s
    }

    /// Content-Length = 1*DIGIT, possibly repeated as an identical comma list; nil when malformed,
    /// differing or beyond 63 bits.
    static func contentLength(_ p: UnsafeRawBufferPointer, _ f: HeaderField) -> Int? {
        var pos = Int(f.valueStart)
        let end = Int(f.valueEnd)
        var result = -1
        while true {
            let start = pos
            var n = 0
            while pos < end && Bytes.isDigit(p[pos]) {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(p[pos] &- 0x30))
                if o1 || o2 { return nil }
                n = a
                pos += 1
            }
            guard pos > start, result < 0 || result == n else { return nil }
            result = n
            while pos < end && Bytes.isWhitespace(p[pos]) { pos += 1 }
            if pos == end { return result }
            guard p[pos] == COMMA else { return nil }
            pos += 1
            while pos < end && Bytes.isWhitespace(p[pos]) { pos += 1 }
        }
    }

    /// Adds the codings of one Transfer-Encoding line to `s`; false when the line is not a valid
    /// list of transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ).
    static func transferCodings(_ p: UnsafeRawBufferPointer, _ f: HeaderField, _ s: inout FieldSummary,
                                _ chunkedCount: inout Int) -> Bool {
        var pos = Int(f.valueStart)
        let end = Int(f.valueEnd)
        while pos < end {
            if p[pos] == COMMA || Bytes.isWhitespace(p[pos]) {
                pos += 1
                continue
            }
            let nameStart = pos
            while pos < end && Bytes.isTchar(p[pos]) { pos += 1 }
            guard pos > nameStart else { return false }
            let chunked = Bytes.equals(p, nameStart, pos, "chunked")
            var hasParameters = false
            while true {
                skipWhitespace(p, &pos, end)
                guard pos < end, p[pos] == SEMICOLON else { break }
                hasParameters = true
                pos += 1
                skipWhitespace(p, &pos, end)
                guard skipToken(p, &pos, end) else { return false }
                skipWhitespace(p, &pos, end)
                guard pos < end, p[pos] == EQUALS else { return false }
                pos += 1
                skipWhitespace(p, &pos, end)
                guard skipToken(p, &pos, end) || skipQuotedString(p, &pos, end) else { return false }
            }
            guard pos == end || p[pos] == COMMA else { return false }
            // chunked takes no parameters (RFC 9112 7.1).
            if chunked && hasParameters { return false }
            s.codingCount += 1
            s.lastCodingIsChunked = chunked
            if chunked { chunkedCount += 1 }
        }
        return true
    }

    /// Connection tokens: close, keep-alive and upgrade set flags; any other token names a header
    /// that becomes hop-by-hop unless its name is protected.
    static func connectionOptions(_ p: UnsafeRawBufferPointer, _ f: HeaderField, _ headers: HeaderTable, _ s: inout FieldSummary) {
        var list = ListElements(p, f)
        while let e = list.next() {
            if Bytes.equals(p, e.start, e.end, "close") {
                s.close = true
            } else if Bytes.equals(p, e.start, e.end, "keep-alive") {
                s.keepAliveToken = true
            } else if Bytes.equals(p, e.start, e.end, "upgrade") {
                s.upgradeToken = true
            } else {
                for j in 0..<headers.count {
                    let h = headers.fields[j]
                    if !h.hopByHop && !h.known.isProtected
                        && Bytes.equals(p, Int(h.nameStart), Int(h.nameEnd), e.start, e.end) {
                        headers.markHopByHop(j)
                    }
                }
            }
        }
    }

    /// uri-host [ ":" port ] (RFC 9110 7.2); empty is valid.
    static func isValidHost(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var pos = start
        if pos < end && p[pos] == 0x5B {
            // IP-literal: IPv6address or IPvFuture between brackets.
            pos += 1
            let inner = pos
            while pos < end && (Bytes.isRegNameByte(p[pos]) || p[pos] == COLON) && p[pos] != 0x25 { pos += 1 }
            guard pos > inner, pos < end, p[pos] == 0x5D else { return false }
            pos += 1
        } else {
            while pos < end && p[pos] != COLON {
                guard Bytes.isRegNameByte(p[pos]) else { return false }
                if p[pos] == 0x25 {
                    guard pos + 2 < end, Bytes.hexValue(p[pos + 1]) != nil, Bytes.hexValue(p[pos + 2]) != nil else { return false }
                    pos += 2
                }
                pos += 1
            }
        }
        guard pos < end else { return true }
        guard p[pos] == COLON else { return false }
        pos += 1
        while pos < end {
            guard Bytes.isDigit(p[pos]) else { return false }
            pos += 1
        }
        return true
    }

    @inline(__always) static func skipWhitespace(_ p: UnsafeRawBufferPointer, _ pos: inout Int, _ end: Int) {
        while pos < end && Bytes.isWhitespace(p[pos]) { pos += 1 }
    }

    @inline(__always) static func skipToken(_ p: UnsafeRawBufferPointer, _ pos: inout Int, _ end: Int) -> Bool {
        let start = pos
        while pos < end && Bytes.isTchar(p[pos]) { pos += 1 }
        return pos > start
    }

    /// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; field values hold no CTL but HTAB.
    static func skipQuotedString(_ p: UnsafeRawBufferPointer, _ pos: inout Int, _ end: Int) -> Bool {
        guard pos < end, p[pos] == DQUOTE else { return false }
        var i = pos + 1
        while i < end {
            switch p[i] {
            case DQUOTE:
                pos = i + 1
                return true
            case BACKSLASH:
                i += 2
            default:
                i += 1
            }
        }
        return false
    }
}
