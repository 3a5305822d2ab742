// A complete request header block becomes an HTTP/1.1 request head:
//   METHOD SP :path SP "HTTP/1.1" CRLF
//   "Host: " (:authority, else the host field) CRLF
//   the other fields as sent, cookies joined into one line with "; " (RFC 9113 §8.2.3)
//   "Content-Length: n" CRLF when the client sent one, else "Transfer-Encoding: chunked" CRLF
//   when a body follows
//   CRLF

import HTTP1

extension HeaderBlock {
    /// Checks the rules of RFC 9113 §8.3.1 that nghttp2 leaves to the application and describes
    /// the request; nil when the block is malformed (fault set) or its head would exceed
    /// `maxHeadLength` (fault .tooLarge).
    mutating func finishRequest(arena: Arena, hasBody: Bool, maxHeadLength: Int) -> H2Request? {
        guard fault == .none else { return nil }
        let methodBytes = arena.bytes(method)
        let isConnect = FieldName.equals(methodBytes, "CONNECT")
        let target = isConnect ? authority : path
        let targetBytes = arena.bytes(target)
        if !isConnect {
            // nghttp2 checks the form of :path only for http and https.
            let originForm = targetBytes.first == 0x2F
            let asterisk = FieldName.equals(targetBytes, "*") && FieldName.equals(methodBytes, "OPTIONS")
            guard originForm || asterisk else { fault = .malformed; return nil }
            // A fragment is not part of a request target; the next server might read it otherwise.
            // Bytes outside visible ASCII are not either (RFC 3986; nghttp2 lets 8-bit bytes
            // through); the HTTP/1.1 side refuses the same bytes with 400.
            guard !targetBytes.contains(where: { $0 == 0x23 || $0 &- 0x21 >= 0x5E }) else { fault = .malformed; return nil }
        }
        // :authority MUST NOT carry userinfo for http and https.
        guard !arena.bytes(authority).contains(0x40) else { fault = .malformed; return nil }
        let host = authority.isEmpty ? hostValue : authority
        guard !host.isEmpty else { fault = .malformed; return nil }

        let fields = fields(arena)
        var length = Int(method.count) + 1 + Int(target.count) + 11 + 6 + Int(host.count) + 2 + Int(fields.count) - Int(hostLine.count)
        if cookieCount > 1 { length -= 8 * Int(cookieCount) - 8 }
        if contentLength >= 0 {
            length += 18 + ByteWriter.digits(contentLength, radix: 10)
        } else if hasBody {
            length += 28
        }
        length += 2
        guard length <= maxHeadLength else { fault = .tooLarge; return nil }
        return H2Request(stream: stream, hasBody: hasBody, contentLength: contentLength, headLength: length,
                         method: method, target: target, host: host, fields: fields, hostLine: hostLine,
                         cookieCount: cookieCount)
    }

    /// The value inside the host field's line ("host: " value CRLF).
    private var hostValue: Span {
        hostLine.isEmpty ? Span() : Span(start: hostLine.start + 6, count: hostLine.count - 8)
    }
}

enum RequestHeadWriter {
    /// Writes the head of `r` (whose bytes are in `arena`); nil when `out` is too small.
    static func write(_ r: H2Request, arena: Arena, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = ByteWriter(out)
        w.write(arena.bytes(r.method))
        w.write(" ")
        w.write(arena.bytes(r.target))
        w.write(" HTTP/1.1\r\nHost: ")
        w.write(arena.bytes(r.host))
        w.write("\r\n")
        if r.hostLine.isEmpty && r.cookieCount < 2 {
            w.write(arena.bytes(r.fields))
        } else {
            writeFields(r, arena, &w)
        }
        if r.contentLength >= 0 {
            w.write("Content-Length: ")
            w.write(r.contentLength, radix: 10)
            w.write("\r\n")
        } else if r.hasBody {
            w.write("Transfer-Encoding: chunked\r\n")
        }
        w.write("\r\n")
        return w.result
    }

    /// Copies the field lines but the host line (already written as Host) and, when there are
    /// several, the cookie lines, which follow joined into one.
    private static func writeFields(_ r: H2Request, _ arena: Arena, _ w: inout ByteWriter) {
        let joinCookies = r.cookieCount > 1
        var cookies = 0
        forEachLine(r.fields, arena) { line, start in
            if Int32(start) == r.hostLine.start && !r.hostLine.isEmpty { return }
            if joinCookies && isCookie(line) { return }
            w.write(line)
        }
        guard joinCookies else { return }
        w.write("cookie: ")
        forEachLine(r.fields, arena) { line, _ in
            guard isCookie(line) else { return }
            if cookies > 0 { w.write("; ") }
            cookies += 1
            // The value sits between "cookie: " and the CRLF.
            w.write(UnsafeRawBufferPointer(rebasing: line[8..<(line.count - 2)]))
        }
        w.write("\r\n")
    }

    private static func isCookie(_ line: UnsafeRawBufferPointer) -> Bool {
        line.count > 10 && FieldName.equals(UnsafeRawBufferPointer(rebasing: line[0..<8]), "cookie: ")
    }

    /// Calls `body` with each "name: value\r\n" line of `fields` and its arena offset.
    private static func forEachLine(_ fields: Span, _ arena: Arena, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        let bytes = arena.bytes(fields)
        var start = 0
        var i = 0
        while i < bytes.count {
            // Values hold no LF (nghttp2 checks), so every LF ends a line.
            if bytes[i] == 0x0A {
                body(UnsafeRawBufferPointer(rebasing: bytes[start...i]), Int(fields.start) + start)
                start = i + 1
            }
            i += 1
        }
    }
}
