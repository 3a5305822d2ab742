/// Strict RFC 9112 request head parsing.
public enum RequestParser {
    /// Parses a complete request head (buffer holds at least headLength bytes; it starts at the
    /// request line). Fills `headers` (reset first).
    #if !DEBUG
    @_noAllocation  // checked by the compiler in optimized builds
    #endif
    public static func parse(_ buffer: UnsafeRawBufferPointer, headLength: Int, headers: HeaderTable) throws(HTTPError) -> RequestHead {
        precondition(headLength <= buffer.count && headLength <= Int(Int32.max), "head length beyond buffer")
        let p = buffer
        let end = headLength
        headers.reset()

        // request-line = method SP request-target SP HTTP-version CRLF, single spaces only.
        var pos = 0
        while pos < end && Bytes.isTchar(p[pos]) { pos += 1 }
        let methodEnd = pos
        guard methodEnd > 0, pos < end, p[pos] == SP else { throw bad("invalid method") }
        pos += 1
        let targetStart = pos
        while pos + 8 <= end && Bytes.isVisibleASCIIWord(Bytes.word(p, pos)) { pos += 8 }
        while pos < end && p[pos] &- 0x21 < 0x5E { pos += 1 }
        let targetEnd = pos
        guard targetEnd > targetStart else { throw bad("invalid request target") }
        guard pos < end, p[pos] == SP else {
            if pos < end && p[pos] == CR && pos + 1 < end && p[pos + 1] == LF {
                throw HTTPError(status: 505, reason: "http/0.9 request")
            }
            throw bad("invalid request target")
        }
        pos += 1
        let versionStart = pos
        while pos < end && p[pos] != CR && p[pos] != LF { pos += 1 }
        let version: HTTPVersion
        switch VersionToken.parse(p, versionStart, pos) {
        case .http10: version = .http10
        case .http11: version = .http11
        case .unsupported: throw HTTPError(status: 505, reason: "unsupported http version")
        case .malformed: throw bad("invalid http version")
        }
        pos = try HeadLines.lineEnd(p, pos, end, status: 400)

        let method = classify(p, methodEnd)
        let authority = try checkTarget(p, targetStart, targetEnd, method: method, methodEnd: methodEnd)

        try HeadLines.parseFields(p, from: pos, headLength: end, headers: headers, status: 400, tableFullStatus: 431)
        let s = try FieldRules.summarize(p, headers: headers, status: 400)

        let framing: BodyFraming
        if s.hasTransferEncoding {
            if version == .http10 { throw bad("transfer-encoding in http/1.0") }
            if s.codingCount == 0 { throw bad("empty transfer-encoding") }
            // Chunked twice was rejected above, so anything but a lone "chunked" names a coding
            // the proxy does not implement (501), whether or not chunked comes last.
            if s.codingCount > 1 || !s.lastCodingIsChunked {
                throw HTTPError(status: 501, reason: "unsupported transfer coding")
            }
            // Forwarded verbatim, so only the plain spelling passes: `, chunked` or `chunked,`
            // (empty list elements) may be read differently by the next server.
            let fields = headers.fields
            var i = 0
            while i < headers.count {
                let f = fields[i]
                if f.known == .transferEncoding && !Bytes.equals(p, Int(f.valueStart), Int(f.valueEnd), "chunked") {
                    throw bad("transfer-encoding must be exactly chunked")
                }
                i += 1
            }
            framing = .chunked
        } else if s.contentLength >= 0 {
            framing = .contentLength(s.contentLength)
        } else {
            framing = .none
        }

        var hostStart = -1
        var hostEnd = -1
        if s.hostCount > 1 { throw bad("repeated host") }
        if s.hostCount == 1 {
            let h = headers.fields[s.hostIndex]
            hostStart = Int(h.valueStart)
            hostEnd = Int(h.valueEnd)
            guard FieldRules.isValidHost(p, hostStart, hostEnd) else { throw bad("invalid host") }
            // RFC 9112 §3.2.2: the target's authority is the host; a different Host field would
            // let the proxy and the server act on different hosts.
            if let authority, !Bytes.equals(p, authority.lowerBound, authority.upperBound, hostStart, hostEnd) {
                throw bad("host does not match the absolute-form target")
            }
        } else if version == .http11 {
            throw bad("missing host")
        }

        // RFC 9110 10.1.1: HTTP/1.0 expectations are ignored.
        let http11 = version == .http11
        if http11 && s.expectOther { throw HTTPError(status: 417, reason: "unsupported expectation") }

        return RequestHead(
            method: method, methodEnd: methodEnd, targetStart: targetStart, targetEnd: targetEnd,
            version: version, headLength: headLength, framing: framing,
            keepAlive: http11 ? !s.close : s.keepAliveToken && !s.close,
            upgradeWebSocket: http11 && s.upgradeWebSocket && s.upgradeToken,
            hostStart: hostStart, hostEnd: hostEnd)
    }

    @inline(__always) static func bad(_ reason: StaticString) -> HTTPError {
        HTTPError(status: 400, reason: reason)
    }

    /// Methods are case-sensitive (RFC 9110 9.1).
    static func classify(_ p: UnsafeRawBufferPointer, _ end: Int) -> Method {
        switch end {
        case 3:
            if Bytes.equalsExactly(p, 0, 3, "GET") { return .get }
            return Bytes.equalsExactly(p, 0, 3, "PUT") ? .put : .other
        case 4:
            if Bytes.equalsExactly(p, 0, 4, "POST") { return .post }
            return Bytes.equalsExactly(p, 0, 4, "HEAD") ? .head : .other
        case 5:
            if Bytes.equalsExactly(p, 0, 5, "PATCH") { return .patch }
            return Bytes.equalsExactly(p, 0, 5, "TRACE") ? .trace : .other
        case 6: return Bytes.equalsExactly(p, 0, 6, "DELETE") ? .delete : .other
        case 7: return Bytes.equalsExactly(p, 0, 7, "OPTIONS") ? .options : .other
        default: return .other
        }
    }

    /// origin-form, absolute-form (http/https), or "*" for OPTIONS; CONNECT and authority-form are refused.
    /// Validates the target's form; returns the authority of an absolute-form target (checked
    /// against Host by the caller), nil for the other forms.
    static func checkTarget(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, method: Method,
                            methodEnd: Int) throws(HTTPError) -> Range<Int>? {
        if method == .other && Bytes.equalsExactly(p, 0, methodEnd, "CONNECT") { throw bad("connect not supported") }
        // A fragment never belongs in a request target (RFC 9112 §3.2); forwarding it lets
        // proxy and server disagree on the path (cf. CVE-2023-45539).
        var i = start
        while i < end {
            if p[i] == 0x23 { throw bad("fragment in request target") }
            i += 1
        }
        if p[start] == 0x2F { return nil }
        if end - start == 1 && p[start] == 0x2A {
            guard method == .options else { throw bad("asterisk-form without options") }
            return nil
        }
        var authority = start
        if Bytes.hasPrefix(p, start, end, "http://") {
            authority += 7
        } else if Bytes.hasPrefix(p, start, end, "https://") {
            authority += 8
        } else {
            throw bad("invalid request target form")
        }
        var authorityEnd = authority
        while authorityEnd < end && p[authorityEnd] != 0x2F && p[authorityEnd] != 0x3F {
            if p[authorityEnd] == 0x40 { throw bad("userinfo in request target") }
            authorityEnd += 1
        }
        guard authorityEnd > authority else { throw bad("absolute-form without host") }
        return authority..<authorityEnd
    }
}
