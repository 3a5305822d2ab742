// Parts shared by request and response heads: the HTTP-version token and the field lines.
// `status` is what a fault is answered with: 400 for a client's request, 502 for an upstream's response.

enum VersionToken {
    case http10, http11, unsupported, malformed

    /// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive, at bytes [start, end).
    static func parse(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> VersionToken {
        guard end - start == 8, Bytes.equalsExactly(p, start, start + 5, "HTTP/"),
              Bytes.isDigit(p[start + 5]), p[start + 6] == 0x2E, Bytes.isDigit(p[start + 7])
        else { return .malformed }
        guard p[start + 5] == 0x31 else { return .unsupported }
        switch p[start + 7] {
        case 0x30: return .http10
        case 0x31: return .http11
        default: return .unsupported
        }
    }
}

enum HeadLines {
    /// Ends the line whose content stopped at `pos`: requires CRLF there and returns the index after it.
    @inline(__always)
    static func lineEnd(_ p: UnsafeRawBufferPointer, _ pos: Int, _ end: Int, status: Int) throws(HTTPError) -> Int {
        guard pos < end else { throw HTTPError(status: status, reason: "incomplete head") }
        switch p[pos] {
        case CR:
            guard pos + 1 < end, p[pos + 1] == LF else { throw HTTPError(status: status, reason: "bare cr in head") }
            return pos + 2
        case LF: throw HTTPError(status: status, reason: "bare lf in head")
        case 0: throw HTTPError(status: status, reason: "nul in head")
        case 0x01..<SP, 0x7F: throw HTTPError(status: status, reason: "control character in head")
        default: throw HTTPError(status: status, reason: "malformed line")
        }
    }

    /// Parses the field lines from `start` through the empty line that must end the head at `headLength`.
    /// `tableFullStatus` answers more fields than `headers` holds.
    static func parseFields(_ p: UnsafeRawBufferPointer, from start: Int, headLength end: Int, headers: HeaderTable,
                            status: Int, tableFullStatus: Int) throws(HTTPError) {
        var pos = start
        while true {
            guard pos < end else { throw HTTPError(status: status, reason: "incomplete head") }
            let first = p[pos]
            if first == CR {
                pos = try lineEnd(p, pos, end, status: status)
                guard pos == end else { throw HTTPError(status: status, reason: "bytes after end of head") }
                return
            }
            let nameStart = pos
            var hasUnderscore = false
            // Whole words of letters, digits and "-" first; the byte loop takes it from the first
            // other byte (the colon, a rarer tchar, or an invalid byte).
            while pos + 8 <= end {
                let flagged = Bytes.notCommonNameBytes(Bytes.word(p, pos))
                if flagged != 0 {
                    pos += Bytes.firstFlagged(flagged)
                    break
                }
                pos += 8
            }
            while pos < end {
                let b = p[pos]
                guard Bytes.isTchar(b) else { break }
                if b == UNDERSCORE { hasUnderscore = true }
                pos += 1
            }
            if pos == nameStart {
                if Bytes.isWhitespace(first) { throw HTTPError(status: status, reason: "obs-fold in head") }
                if first == COLON { throw HTTPError(status: status, reason: "empty field name") }
                if first == LF { throw HTTPError(status: status, reason: "bare lf in head") }
                throw HTTPError(status: status, reason: "invalid field name")
            }
            guard pos < end else { throw HTTPError(status: status, reason: "incomplete head") }
            let nameEnd = pos
            if p[pos] != COLON {
                if Bytes.isWhitespace(p[pos]) { throw HTTPError(status: status, reason: "whitespace before colon") }
                if p[pos] == CR || p[pos] == LF { throw HTTPError(status: status, reason: "field line without colon") }
                throw HTTPError(status: status, reason: "invalid field name")
            }
            pos += 1
            while pos < end && Bytes.isWhitespace(p[pos]) { pos += 1 }
            let valueStart = pos
            while pos < end {
                if pos + 8 <= end {
                    // Straight to the next byte that is not plain (the CR ending the line, HTAB, ...).
                    let flagged = Bytes.notPlainValueBytes(Bytes.word(p, pos))
                    if flagged == 0 {
                        pos += 8
                        continue
                    }
                    pos += Bytes.firstFlagged(flagged)
                }
                let b = p[pos]
                guard Bytes.isFieldVchar(b) || Bytes.isWhitespace(b) else { break }
                pos += 1
            }
            var valueEnd = pos
            while valueEnd > valueStart && Bytes.isWhitespace(p[valueEnd - 1]) { valueEnd -= 1 }
            pos = try lineEnd(p, pos, end, status: status)
            let known = KnownHeader.classify(p, nameStart, nameEnd)
            let field = HeaderField(nameStart: Int32(truncatingIfNeeded: nameStart), nameEnd: Int32(truncatingIfNeeded: nameEnd),
                                    valueStart: Int32(truncatingIfNeeded: valueStart), valueEnd: Int32(truncatingIfNeeded: valueEnd),
                                    known: known, hopByHop: known.isHopByHop, hasUnderscore: hasUnderscore)
            guard headers.append(field) else { throw HTTPError(status: tableFullStatus, reason: "too many header fields") }
        }
    }
}
