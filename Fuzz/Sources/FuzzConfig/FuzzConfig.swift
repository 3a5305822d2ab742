// Configuration text: ConfigLoader.parse must never crash; every error must read as one line
// `file:line:column: message` (the pattern ^.+:\d+:\d+: .+$) at a position inside the text, in
// source order; a configuration it accepts must be consistent (the checks the builder promises).
import Config

let file = "fuzz.conf"
let base = "/etc/sluice"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch ConfigLoader.parse(text: text, file: file, baseDirectory: base) {
    case .success(let config):
        checkAccepted(config, text)
    case .failure(let errors):
        checkErrors(errors, text)
    }
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
    if !condition { fatalError("invariant violated: \(message())", line: line) }
}

/// Lengths in Unicode scalars (the lexer's columns) of the text's lines.
func lineLengths(_ text: String) -> [Int] {
    var lengths = [0]
    for c in text.unicodeScalars {
        if c == "\n" { lengths.append(0) } else { lengths[lengths.count - 1] += 1 }
    }
    return lengths
}

/// ^.+:\d+:\d+: .+$ over the whole description, `.` matching anything but a newline.
func matchesPattern(_ s: String) -> Bool {
    let b = Array(s.utf8)
    guard !b.contains(0x0A) else { return false }
    // The file part is greedy in the regex: some split into file ":" digits ":" digits ": " rest must exist.
    for i in b.indices where b[i] == 0x3A && i > 0 {
        var j = i + 1
        let lineStart = j
        while j < b.count && b[j] >= 0x30 && b[j] <= 0x39 { j += 1 }
        guard j > lineStart, j < b.count, b[j] == 0x3A else { continue }
        j += 1
        let columnStart = j
        while j < b.count && b[j] >= 0x30 && b[j] <= 0x39 { j += 1 }
        guard j > columnStart, j + 2 < b.count, b[j] == 0x3A, b[j + 1] == 0x20 else { continue }
        return true
    }
    return false
}

func checkErrors(_ errors: ConfigErrors, _ text: String) {
    require(!errors.errors.isEmpty, "failure without errors")
    let lengths = lineLengths(text)
    var previous = (0, 0)
    for e in errors.errors {
        require(e.file == file, "error names file \(e.file)")
        require(!e.message.isEmpty, "empty message at \(e.line):\(e.column)")
        require(matchesPattern(e.description), "error is not one file:line:column: message line: \(e.description.debugDescription)")
        require(e.line >= 1 && e.line <= lengths.count, "error line \(e.line) outside 1...\(lengths.count): \(e.description.debugDescription)")
        require(e.column >= 1 && e.column <= lengths[e.line - 1] + 1,
                "error column \(e.column) outside 1...\(lengths[e.line - 1] + 1): \(e.description.debugDescription)")
        require(previous <= (e.line, e.column), "errors not in source order: \(errors.description.debugDescription)")
        previous = (e.line, e.column)
    }
}

func checkAccepted(_ config: ProxyConfig, _ text: String) {
    let backends = Set(config.backends.map(\.name))
    require(backends.count == config.backends.count, "duplicate backend names accepted")
    require(Set(config.frontends.map(\.name)).count == config.frontends.count, "duplicate frontend names accepted")
    for b in config.backends {
        require(!b.servers.isEmpty, "backend \(b.name) accepted without servers")
        for s in b.servers {
            require((1...256).contains(s.weight) && s.port > 0 && !s.host.isEmpty, "server \(s.address) accepted with bad values")
            require(s.tls || (s.tlsCA == nil && s.tlsSNI == nil), "tls parameters accepted without tls")
            if let ca = s.tlsCA { require(ca.hasPrefix("/"), "relative ca path \(ca) not resolved") }
        }
        if let h = b.healthCheck {
            require(h.path.hasPrefix("/") && h.intervalMs > 0 && h.timeoutMs > 0 && h.rise >= 1 && h.fall >= 1
                    && 100 <= h.expectLow && h.expectLow <= h.expectHigh && h.expectHigh <= 599, "bad health check accepted")
        }
        require(b.connectTimeoutMs > 0 && b.readTimeoutMs > 0 && b.keepalive >= 0 && b.retries >= 0, "bad backend values accepted")
    }
    var listens = Set<ListenAddress>()
    var listenCount = 0
    for f in config.frontends {
        require(!f.listens.isEmpty, "frontend \(f.name) accepted without listen")
        for l in f.listens {
            listens.insert(ListenAddress(host: l.host, port: l.port, isIPv6: l.isIPv6, tls: false))
            listenCount += 1
        }
        if let d = f.defaultBackend { require(backends.contains(d), "frontend \(f.name) refers to unknown backend \(d)") }
        for r in f.routes {
            require(backends.contains(r.backend), "route to unknown backend \(r.backend)")
            require(r.host != nil || r.pathPrefix != nil, "route without host or path accepted")
        }
        require(f.defaultBackend != nil || (f.mode == .http && !f.routes.isEmpty), "frontend \(f.name) accepted without backend")
        require(f.mode == .http || f.routes.isEmpty, "tcp frontend \(f.name) accepted with routes")
        let defaults = FrontendConfig(name: f.name)
        require(f.mode == .http || (f.accessLog == defaults.accessLog && f.trustedProxies.isEmpty
                                    && f.maxHeaderSize == defaults.maxHeaderSize && f.maxBodySize == defaults.maxBodySize
                                    && f.sendTimeoutMs == defaults.sendTimeoutMs),
                "tcp frontend \(f.name) accepted with an HTTP-only directive")
        require(f.listens.contains(where: \.tls) == !f.certificates.isEmpty, "tls listen and certificates do not match")
        for c in f.certificates { require(c.certificatePath.hasPrefix("/") && c.keyPath.hasPrefix("/"), "relative certificate path") }
        require((1 << 10...1 << 20).contains(f.maxHeaderSize) && f.maxBodySize >= 0
                && f.headerTimeoutMs > 0 && f.idleTimeoutMs > 0, "bad frontend values accepted")
        if case .file(let p)? = f.accessLog.target { require(p.hasPrefix("/"), "relative access log path") }
    }
    if let stats = config.stats {
        require(!stats.listens.isEmpty, "stats accepted without listen")
        for l in stats.listens {
            listens.insert(ListenAddress(host: l.host, port: l.port, isIPv6: l.isIPv6, tls: false))
            listenCount += 1
        }
    }
    require(listens.count == listenCount, "duplicate listen address accepted")
    if let p = config.pidFile { require(p.hasPrefix("/"), "relative pid_file \(p)") }
    if case .file(let p) = config.errorLog { require(p.hasPrefix("/"), "relative error_log \(p)") }
    if case .count(let n) = config.workers { require((1...1024).contains(n), "workers \(n) accepted") }
    require(config.maxConnections >= 1, "max_connections \(config.maxConnections) accepted")
    _ = text
}
