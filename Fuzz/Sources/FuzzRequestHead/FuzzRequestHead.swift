// Request heads: find the end as the proxy does (leading empty lines, incremental rescans), parse,
// rewrite for an untrusted and a trusted peer, then re-parse the rewritten head and check that the
// next hop sees the same request: same method, target, version, host and framing, the same
// upgrade, no hop-by-hop field left, at most one Content-Length (in plain decimal), one
// X-Forwarded-* set, Forwarded only from a trusted peer, names with "_" only when
// underscores_in_headers is on and they do not fold to a field the proxy manages.
import FuzzSupport
import HTTP1

nonisolated(unsafe) let headers = HeaderTable(capacity: 128)  // as a worker has
nonisolated(unsafe) let headersAgain = HeaderTable(capacity: 128)
nonisolated(unsafe) let reparsed = HeaderTable(capacity: 256)  // room for the fields the rewrite adds

let untrustedPeer: StaticString = "203.0.113.7"
let untrustedPort: StaticString = "8080"
let trustedPeer: StaticString = "::1"
let trustedPort: StaticString = "443"

func raw(_ s: StaticString) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let skip = HeadScanner.leadingEmptyLines(in: input)
    require(skip % 2 == 0 && skip <= size, "leadingEmptyLines \(skip) of \(size)")
    for i in stride(from: 0, to: skip, by: 2) {
        require(input[i] == 0x0D && input[i + 1] == 0x0A, "leadingEmptyLines skipped a non-CRLF")
    }
    let bytes = UnsafeRawBufferPointer(rebasing: input[skip...])

    let oversize = withExactCopy(bytes) { HeadScanner.oversizeError($0) }
    require(oversize.status == (bytes.contains(0x0A) ? 431 : 414), "oversizeError \(oversize)")

    guard let end = checkHeadEndIncremental(bytes) else { return 0 }

    // The proxy parses in place, with whatever followed the head still in the buffer; the result
    // must not depend on those bytes (an exact-size copy also makes ASan catch a read past the head).
    let inPlace = Result { () throws(HTTPError) in try RequestParser.parse(bytes, headLength: end, headers: headers) }
    let alone = withExactCopy(bytes, 0, end) { head in
        Result { () throws(HTTPError) in try RequestParser.parse(head, headLength: end, headers: headersAgain) }
    }
    switch (inPlace, alone) {
    case (.failure(let a), .failure(let b)):
        require(a == b, "parse errors differ with and without the bytes after the head: \(a) / \(b)")
        require([400, 417, 431, 501, 505].contains(a.status), "unexpected request error status \(a)")
        return 0
    case (.success(let a), .success(let b)):
        require(same(a, b) && sameTable(headers, headersAgain), "parse differs with and without the bytes after the head")
        check(a, bytes)
    default:
        require(false, "parse succeeds only with or only without the bytes after the head")
    }
    return 0
}

func same(_ a: RequestHead, _ b: RequestHead) -> Bool {
    a.method == b.method && a.methodEnd == b.methodEnd && a.targetStart == b.targetStart && a.targetEnd == b.targetEnd
        && a.version == b.version && a.headLength == b.headLength && a.framing == b.framing && a.keepAlive == b.keepAlive
        && a.upgradeWebSocket == b.upgradeWebSocket
        && a.hostStart == b.hostStart && a.hostEnd == b.hostEnd
}

/// Checks a parsed head, then its rewrites.
func check(_ head: RequestHead, _ source: UnsafeRawBufferPointer) {
    require(head.headLength >= 4 && head.methodEnd > 0 && head.targetStart == head.methodEnd + 1
            && head.targetEnd > head.targetStart && head.targetEnd + 11 <= head.headLength, "request head offsets")
    require(head.framing != .untilClose, "request framed until close")
    if case .contentLength(let n) = head.framing { require(n >= 0, "negative content-length") }
    if head.version == .http11 {
        require(head.hostStart >= 0 && head.hostEnd >= head.hostStart, "http/1.1 request without host")
    } else {
        require(!head.upgradeWebSocket, "upgrade on http/1.0")
    }
    checkIndependently(head, source)
    let original = parsedFields(source, headers)
    for context in [
        ForwardContext(peer: raw(untrustedPeer), port: raw(untrustedPort), https: false, trusted: false,
                       upstreamHTTP10: head.version == .http10),
        ForwardContext(peer: raw(untrustedPeer), port: raw(untrustedPort), https: false, trusted: false,
                       upstreamHTTP10: head.version == .http10, keepUnderscores: true),
        ForwardContext(peer: raw(trustedPeer), port: raw(trustedPort), https: true, trusted: true,
                       upstreamHTTP10: head.version == .http10),
        ForwardContext(peer: raw(trustedPeer), port: raw(trustedPort), https: true, trusted: true,
                       upstreamHTTP10: head.version == .http10, keepUnderscores: true),
    ] {
        // Everything written comes from the head at most twice (trusted X-Forwarded-* values), plus
        // a fixed number of added bytes.
        let rewritten = writeChecked(capacity: 2 * head.headLength + 512, "request rewrite") { out in
            RequestRewriter.write(head, headers: headers, source: source, context: context, into: out)
        }
        checkRewrite(head, source, original, context, rewritten)
    }
}

/// The accepted head read without the parser: RFC 9112 syntax, and the framing, host, upgrade and
/// expectation its field lines imply.
func checkIndependently(_ head: RequestHead, _ source: UnsafeRawBufferPointer) {
    let (line, fields) = withExactCopy(source, 0, head.headLength) { (startLine($0), rawFields($0)) }
    let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
    require(parts.count == 3, "accepted request line is not three parts: \(escaped(line))")
    require(!parts[0].isEmpty && parts[0].allSatisfy(isTchar) && !parts[0].elementsEqual("CONNECT".utf8),
            "accepted method: \(escaped(parts[0]))")
    require(!parts[1].isEmpty && parts[1].allSatisfy { $0 >= 0x21 && $0 <= 0x7E }, "accepted target: \(escaped(parts[1]))")
    require(parts[2].elementsEqual((head.version == .http11 ? "HTTP/1.1" : "HTTP/1.0").utf8), "accepted version: \(escaped(parts[2]))")

    let te = fields.values(named: "transfer-encoding")
    let length = independentContentLength(fields)
    switch head.framing {
    case .chunked:
        require(head.version == .http11 && length == nil && listElements(te) == ["chunked"],
                "chunked framing from Transfer-Encoding \(te.map { escaped($0) }) and Content-Length \(String(describing: length))")
    case .contentLength(let n):
        require(te.isEmpty && length == n, "content-length \(n) framing from Content-Length \(String(describing: length))")
    case .none:
        require(te.isEmpty && length == nil, "no body, yet Transfer-Encoding or Content-Length")
    case .untilClose:
        require(false, "request framed until close")
    }
    let hosts = fields.count(named: "host")
    require(head.version == .http11 ? hosts == 1 : hosts <= 1, "accepted with \(hosts) Host lines")
    let connection = listElements(fields.values(named: "connection"))
    let upgrades = listElements(fields.values(named: "upgrade")).map { $0.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0] }
    require(head.upgradeWebSocket == (head.version == .http11 && connection.contains("upgrade") && upgrades.contains("websocket")),
            "websocket upgrade \(head.upgradeWebSocket) from Connection \(connection) and Upgrade \(upgrades)")
    let expect = listElements(fields.values(named: "expect"))
    if head.version == .http11 {
        require(expect.allSatisfy { $0 == "100-continue" }, "accepted Expect \(expect)")
    }
    let close = connection.contains("close")
    require(head.keepAlive == (head.version == .http11 ? !close : connection.contains("keep-alive") && !close),
            "keepAlive \(head.keepAlive) from Connection \(connection)")
}

func checkRewrite(_ head: RequestHead, _ source: UnsafeRawBufferPointer,
                  _ original: [(name: String, known: KnownHeader, hopByHop: Bool, value: [UInt8])],
                  _ context: ForwardContext, _ rewritten: [UInt8]) {
    let who = (context.trusted ? "trusted" : "untrusted") + (context.keepUnderscores ? " underscores on" : "")
    let fields = rewritten.withUnsafeBytes { rawFields($0) }

    // Read again by the proxy's own parser: it must accept its own output and see the same request.
    rewritten.withUnsafeBytes { out in
        require(HeadScanner.leadingEmptyLines(in: out) == 0, "\(who) rewrite starts with an empty line")
        require(HeadScanner.headEnd(in: out, searchFrom: 0) == out.count, "\(who) rewrite: head end is not at its end")
        let again: RequestHead
        do {
            again = try RequestParser.parse(out, headLength: out.count, headers: reparsed)
        } catch {
            require(false, "\(who) rewrite rejected by the parser: \(error) in \(escaped(rewritten))")
            return
        }
        require(text(out, 0, again.methodEnd) == text(source, 0, head.methodEnd) && again.method == head.method,
                "\(who) rewrite changed the method")
        require(text(out, again.targetStart, again.targetEnd) == text(source, head.targetStart, head.targetEnd),
                "\(who) rewrite changed the target")
        require(again.version == head.version, "\(who) rewrite changed the version")
        require(again.framing == head.framing,
                "\(who) rewrite changed the framing from \(describe(head.framing)) to \(describe(again.framing))")
        require(again.upgradeWebSocket == head.upgradeWebSocket, "\(who) rewrite changed the websocket upgrade")
        // A client may name Expect in Connection; then it is not forwarded, like any field so named.
        let expectDropped = original.contains { $0.known == .expect && $0.hopByHop }
        let expectLines = original.filter { $0.known == .expect }.count
        require(fields.count(named: "expect") == (expectDropped ? 0 : expectLines), "\(who) rewrite changed the Expect lines")
        require((again.hostStart < 0) == (head.hostStart < 0)
                && (head.hostStart < 0 || text(out, again.hostStart, again.hostEnd) == text(source, head.hostStart, head.hostEnd)),
                "\(who) rewrite changed the host")
        if head.version == .http10 { require(!again.keepAlive, "http/1.0 rewrite is not Connection: close") }
        // Nothing left for the parser to treat as hop-by-hop but the Connection line we add and, for
        // a websocket upgrade, Upgrade.
        for i in 0..<reparsed.count where reparsed[i].hopByHop {
            let known = reparsed[i].known
            require(known == .connection || (known == .upgrade && head.upgradeWebSocket),
                    "\(who) rewrite keeps a hop-by-hop field: \(escaped(text(out, Int(reparsed[i].nameStart), Int(reparsed[i].nameEnd))))")
        }
    }

    // The same checks on a plain split of the lines, independent of the parser.
    var expectedConnection: [[UInt8]] = []
    if head.upgradeWebSocket {
        expectedConnection = [Array("upgrade".utf8)]
    } else if context.upstreamHTTP10 {
        expectedConnection = [Array("close".utf8)]
    }
    require(fields.values(named: "connection") == expectedConnection, "\(who) rewrite: wrong Connection lines")
    for name in ["keep-alive", "proxy-connection", "te"] {
        require(fields.count(named: name) == 0, "\(who) rewrite keeps \(name)")
    }
    require(fields.count(named: "upgrade") == (head.upgradeWebSocket ? original.filter { $0.known == .upgrade }.count : 0),
            "\(who) rewrite: wrong Upgrade lines")
    for f in original where f.hopByHop && f.known == .other {
        require(fields.count(named: f.name) == 0, "\(who) rewrite keeps \(f.name), named by Connection")
    }

    let lengths = fields.values(named: "content-length")
    if case .contentLength(let n) = head.framing {
        require(lengths == [Array(String(n).utf8)], "\(who) rewrite: not one Content-Length: \(n) in plain decimal")
    } else {
        require(lengths.isEmpty, "\(who) rewrite: Content-Length without content-length framing")
    }
    require(fields.values(named: "transfer-encoding") == original.filter { $0.known == .transferEncoding }.map(\.value),
            "\(who) rewrite changed Transfer-Encoding")
    require(fields.values(named: "host") == original.filter { $0.known == .host }.map(\.value), "\(who) rewrite changed Host")

    // Exactly one X-Forwarded-For, -Proto and -Port, at most one -Host; an untrusted peer's own are gone.
    let xff = fields.values(named: "x-forwarded-for")
    let proto = fields.values(named: "x-forwarded-proto")
    let port = fields.values(named: "x-forwarded-port")
    let xfh = fields.values(named: "x-forwarded-host")
    require(xff.count == 1 && proto.count == 1 && port.count == 1 && xfh.count <= 1, "\(who) rewrite: X-Forwarded-* not one each")
    let peer = Array(context.peer)
    require(xff[0].count >= peer.count && xff[0].suffix(peer.count).elementsEqual(peer), "\(who) rewrite: X-Forwarded-For does not end with the peer")
    if !context.trusted {
        require(xff[0] == peer, "untrusted rewrite keeps the client's X-Forwarded-For")
        require(proto[0] == Array((context.https ? "https" : "http").utf8), "untrusted rewrite keeps the client's X-Forwarded-Proto")
        require(port[0] == Array(context.port), "untrusted rewrite keeps the client's X-Forwarded-Port")
        let host = head.hostEnd > head.hostStart ? [text(source, head.hostStart, head.hostEnd)] : []
        require(xfh == host, "untrusted rewrite: X-Forwarded-Host is not the Host")
    }

    let forwarded = original.filter { $0.name == "forwarded" }.map(\.value)
    require(fields.values(named: "forwarded") == (context.trusted ? forwarded : []), "\(who) rewrite: wrong Forwarded lines")

    // Every other field line passes unchanged and in order, but names with "_" only when allowed
    // and not read as a managed name by a server that takes "_" for "-".
    let special: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "upgrade", "content-length",
                                "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-host", "forwarded"]
    let managed: Set<String> = special.union(["host", "transfer-encoding", "trailer", "expect"])
    func passes(_ name: String) -> Bool {
        !name.contains("_") || context.keepUnderscores && !managed.contains(name.replacingAll("_", "-"))
    }
    let keptOriginal = original.filter { !$0.hopByHop && !special.contains($0.name) && passes($0.name) }
        .map { [Array($0.name.utf8), $0.value] }
    let keptRewritten = fields.filter { !special.contains($0.name) }.map { [Array($0.name.utf8), $0.value] }
    require(keptOriginal == keptRewritten, "\(who) rewrite changed the other field lines")
}

extension String {
    /// Every `a` replaced by `b` (no Foundation).
    func replacingAll(_ a: Character, _ b: Character) -> String {
        String(map { $0 == a ? b : $0 })
    }
}
