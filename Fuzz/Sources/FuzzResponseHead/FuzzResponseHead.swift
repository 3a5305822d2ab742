// Response heads: find the end (incremental rescans), parse as the answer to GET, HEAD and POST,
// rewrite with each ConnectionDirective, re-parse the rewritten head and check that the client
// sees the same response: status, version, framing, exactly the Connection line the directive
// asks for, no other hop-by-hop field, at most one Content-Length (in plain decimal), and for 1xx
// and 204 neither Content-Length nor Transfer-Encoding.
import FuzzSupport
import HTTP1

nonisolated(unsafe) let headers = HeaderTable(capacity: 128)  // as a worker has
nonisolated(unsafe) let headersAgain = HeaderTable(capacity: 128)
nonisolated(unsafe) let reparsed = HeaderTable(capacity: 256)

let methods: [Method] = [.get, .head, .post]
let directives: [ConnectionDirective] = [.none, .close, .keepAlive, .upgrade]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponseHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let end = checkHeadEndIncremental(bytes) else { return 0 }
    for method in methods {
        let inPlace = Result { () throws(HTTPError) in
            try ResponseParser.parse(bytes, headLength: end, requestMethod: method, headers: headers)
        }
        let alone = withExactCopy(bytes, 0, end) { head in
            Result { () throws(HTTPError) in
                try ResponseParser.parse(head, headLength: end, requestMethod: method, headers: headersAgain)
            }
        }
        switch (inPlace, alone) {
        case (.failure(let a), .failure(let b)):
            require(a == b, "parse errors differ with and without the bytes after the head: \(a) / \(b)")
            require(a.status == 502, "response error is not 502: \(a)")
        case (.success(let a), .success(let b)):
            require(same(a, b) && sameTable(headers, headersAgain), "parse differs with and without the bytes after the head")
            check(a, method, bytes)
        default:
            require(false, "parse succeeds only with or only without the bytes after the head")
        }
    }
    return 0
}

func same(_ a: ResponseHead, _ b: ResponseHead) -> Bool {
    a.status == b.status && a.version == b.version && a.headLength == b.headLength && a.framing == b.framing
        && a.keepAlive == b.keepAlive && a.isInterim == b.isInterim
}

func check(_ head: ResponseHead, _ method: Method, _ source: UnsafeRawBufferPointer) {
    require((100...599).contains(head.status), "status \(head.status)")
    require(head.isInterim == ((100...199).contains(head.status) && head.status != 101), "isInterim for \(head.status)")
    let bodiless = method == .head || head.status < 200 || head.status == 204 || head.status == 304
    require((head.framing == .none) == bodiless, "framing \(describe(head.framing)) for \(method) \(head.status)")
    require(!(head.keepAlive && head.framing == .untilClose), "keep-alive with a body until close")

    checkIndependently(head, method, source)
    let original = parsedFields(source, headers)
    for directive in directives {
        let rewritten = writeChecked(capacity: head.headLength + 64, "response rewrite \(directive)") { out in
            ResponseRewriter.write(head, headers: headers, source: source, connection: directive, into: out)
        }
        checkRewrite(head, method, source, original, directive, rewritten)
    }
}

/// The accepted head read without the parser: RFC 9112 syntax, and the framing its status and
/// field lines imply (RFC 9112 6.3).
func checkIndependently(_ head: ResponseHead, _ method: Method, _ source: UnsafeRawBufferPointer) {
    let (line, fields) = withExactCopy(source, 0, head.headLength) { (startLine($0), rawFields($0)) }
    let version = head.version == .http11 ? "HTTP/1.1 " : "HTTP/1.0 "
    require(line.count >= 12 && line.prefix(9).elementsEqual(version.utf8) && decimal(Array(line[9..<12])) == head.status
            && (line.count == 12 || line[12] == 0x20), "accepted status line: \(escaped(line))")
    let te = listElements(fields.values(named: "transfer-encoding"))
    let length = independentContentLength(fields)
    let hasTE = !fields.values(named: "transfer-encoding").isEmpty
    require(!hasTE || (head.version == .http11 && length == nil), "accepted Transfer-Encoding with Content-Length or in http/1.0")
    require(te.filter { $0 == "chunked" }.count <= 1, "accepted chunked twice")
    let expected: BodyFraming
    if method == .head || head.status < 200 || head.status == 204 || head.status == 304 {
        expected = .none
    } else if hasTE {
        expected = te.last == "chunked" ? .chunked : .untilClose
    } else if let length {
        expected = .contentLength(length)
    } else {
        expected = .untilClose
    }
    require(head.framing == expected, "framing \(describe(head.framing)), expected \(describe(expected))")
    let connection = listElements(fields.values(named: "connection"))
    let close = connection.contains("close")
    let reusable = head.version == .http11 ? !close : connection.contains("keep-alive") && !close
    require(head.keepAlive == (reusable && expected != .untilClose), "keepAlive \(head.keepAlive) from Connection \(connection)")
}

func checkRewrite(_ head: ResponseHead, _ method: Method, _ source: UnsafeRawBufferPointer,
                  _ original: [(name: String, known: KnownHeader, hopByHop: Bool, value: [UInt8])],
                  _ directive: ConnectionDirective, _ rewritten: [UInt8]) {
    let who = "\(method) \(head.status) \(directive)"
    let fields = rewritten.withUnsafeBytes { rawFields($0) }

    rewritten.withUnsafeBytes { out in
        require(HeadScanner.headEnd(in: out, searchFrom: 0) == out.count, "\(who) rewrite: head end is not at its end")
        let again: ResponseHead
        do {
            again = try ResponseParser.parse(out, headLength: out.count, requestMethod: method, headers: reparsed)
        } catch {
            require(false, "\(who) rewrite rejected by the parser: \(error) in \(escaped(rewritten))")
            return
        }
        let startLine = source.firstIndex(of: 0x0D)!
        require(text(out, 0, startLine) == text(source, 0, startLine), "\(who) rewrite changed the status line")
        require(again.status == head.status && again.version == head.version && again.isInterim == head.isInterim,
                "\(who) rewrite changed the status or version")
        require(again.framing == head.framing,
                "\(who) rewrite changed the framing from \(describe(head.framing)) to \(describe(again.framing))")
        if directive == .close { require(!again.keepAlive, "\(who) rewrite still keep-alive") }
        for i in 0..<reparsed.count where reparsed[i].hopByHop {
            let known = reparsed[i].known
            require(known == .connection || (known == .upgrade && directive == .upgrade),
                    "\(who) rewrite keeps a hop-by-hop field: \(escaped(text(out, Int(reparsed[i].nameStart), Int(reparsed[i].nameEnd))))")
        }
    }

    let connection: [[UInt8]]
    switch directive {
    case .none: connection = []
    case .close: connection = [Array("close".utf8)]
    case .keepAlive: connection = [Array("keep-alive".utf8)]
    case .upgrade: connection = [Array("upgrade".utf8)]
    }
    require(fields.values(named: "connection") == connection, "\(who) rewrite: wrong Connection lines")
    for name in ["keep-alive", "proxy-connection", "te"] {
        require(fields.count(named: name) == 0, "\(who) rewrite keeps \(name)")
    }
    require(fields.count(named: "upgrade") == (directive == .upgrade ? original.filter { $0.known == .upgrade }.count : 0),
            "\(who) rewrite: wrong Upgrade lines")
    for f in original where f.hopByHop && f.known == .other {
        require(fields.count(named: f.name) == 0, "\(who) rewrite keeps \(f.name), named by Connection")
    }

    // 1xx and 204 lose both framing fields; otherwise the Content-Length lines, which may also
    // announce the length of a body not sent (HEAD, 304), become one line in plain decimal.
    let bodiless = head.status < 200 || head.status == 204
    let lengths = fields.values(named: "content-length")
    let declared = withExactCopy(source, 0, head.headLength) { independentContentLength(rawFields($0)) }
    if let declared, !bodiless {
        require(lengths == [Array(String(declared).utf8)], "\(who) rewrite: not one Content-Length: \(declared) in plain decimal")
    } else {
        require(lengths.isEmpty, "\(who) rewrite: Content-Length where there is none or for a \(head.status)")
    }
    let codings = original.filter { $0.known == .transferEncoding }.map(\.value)
    require(fields.values(named: "transfer-encoding") == (bodiless ? [] : codings), "\(who) rewrite: wrong Transfer-Encoding")

    let special: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "upgrade", "content-length",
                                "transfer-encoding"]
    let keptOriginal = original.filter { !$0.hopByHop && !special.contains($0.name) }.map { [Array($0.name.utf8), $0.value] }
    let keptRewritten = fields.filter { !special.contains($0.name) }.map { [Array($0.name.utf8), $0.value] }
    require(keptOriginal == keptRewritten, "\(who) rewrite changed the other field lines")
}
