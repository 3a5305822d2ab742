/// A `frontend NAME { ... }` block, being read.
struct FrontendBlock {
    var frontend: FrontendConfig
    var firstTLSListen: Token?
    var firstCertificate: Token?
    var timeouts: Set<String> = []
    /// Directives that mean something only to HTTP, as messages call them, with their names:
    /// errors once the whole block is read and its mode is `tcp` (`mode` may come last).
    var httpOnly: [(directive: String, name: Token)] = []
}

extension Commands {
    static let frontend = CommandTable<FrontendBlock>([
        .setting("mode", \.frontend.mode) { b, t in
            b.choice(t, in: "mode", [("http", FrontendMode.http), ("tcp", .tcp)])
        },
        // `listen ADDR [tls] [proxy_protocol]`. In tcp mode a tls listener terminates TLS and
        // forwards the plaintext.
        Command("listen", args: 1...3, repeatable: true) { b, d, block in
            var tls = false
            var proxyProtocol = false
            for p in d.args.dropFirst() {
                switch p.text {
                case "tls" where !tls:
                    tls = true
                    block.firstTLSListen = block.firstTLSListen ?? p
                case "proxy_protocol" where !proxyProtocol:
                    proxyProtocol = true
                default:
                    b.invalidParameter(p)
                }
            }
            if var address = b.listenAddress(d.args[0], tls: tls) {
                address.proxyProtocol = proxyProtocol
                block.frontend.listens.append(address)
            }
        },
        Command("certificate", args: 2...2, repeatable: true) { b, d, block in
            block.firstCertificate = block.firstCertificate ?? d.name
            if let certificate = b.path(d.args[0]), let key = b.path(d.args[1]) {
                block.frontend.certificates.append(CertificateConfig(
                    certificatePath: certificate, keyPath: key, line: d.name.start.line, column: d.name.start.column))
            }
        },
        Command("trusted_proxies", args: 1..., repeatable: true) { b, d, block in
            block.frontend.trustedProxies += d.args.compactMap(b.cidr)
        }.httpOnly,
        Command("route", args: 1..., repeatable: true) { b, d, block in
            if let route = b.route(d) { block.frontend.routes.append(route) }
        }.httpOnly,
        Command("backend", args: 1...1) { b, d, block in
            block.frontend.defaultBackend = d.args[0].text
            b.backendReferences.append((d.args[0].text, d.args[0], "\"backend\" directive"))
        },
        Command("access_log", args: 1...2) { b, d, block in
            if d.args[0].text == "off" {
                block.frontend.accessLog.target = nil
            } else if let target = b.logTarget(d.args[0]) {
                block.frontend.accessLog.target = target
            }
            if d.args.count == 2, let format = b.choice(d.args[1], in: "access_log", [
                ("combined", AccessLogFormat.combined), ("json", .json),
            ]) {
                block.frontend.accessLog.format = format
            }
        }.httpOnly,
        // In tcp mode `timeout header` bounds the TLS handshake and `idle` a quiet connection;
        // `send` is about writing HTTP responses.
        Command("timeout", args: 2...2, repeatable: true) { b, d, block in
            if b.timeout(d, Timeouts.frontend, seen: &block.timeouts, into: &block.frontend) == "send" {
                block.httpOnly.append(("timeout send", d.name))
            }
        },
        .setting("max_header_size", \.frontend.maxHeaderSize) { b, t in
            b.size(t, name: "max_header_size", min: 1 << 10, max: 1 << 20)
        }.httpOnly,
        .setting("max_body_size", \.frontend.maxBodySize) { b, t in b.size(t, name: "max_body_size") }.httpOnly,
        .setting("http2", \.frontend.http2) { b, t in
            b.choice(t, in: "http2", [("on", true), ("off", false)])
        }.httpOnly,
        .setting("underscores_in_headers", \.frontend.underscoresInHeaders) { b, t in
            b.choice(t, in: "underscores_in_headers", [("on", true), ("off", false)])
        }.httpOnly,
    ])
}

extension Command where Block == FrontendBlock {
    /// The same directive, noted as meaning something only to HTTP.
    var httpOnly: Command {
        Command(name, args: arguments, block: takesBlock, repeatable: repeatable) { [name, handler] b, d, block in
            block.httpOnly.append((name, d.name))
            handler(b, d, &block)
        }
    }
}

extension ConfigBuilder {
    func buildFrontend(_ d: Directive) -> FrontendConfig {
        var block = FrontendBlock(frontend: FrontendConfig(name: d.args[0].text))
        let present = read(d.block ?? [], with: Commands.frontend, into: &block)
        let frontend = block.frontend
        let quotedName = "frontend \"\(frontend.name)\""
        if !present.contains("listen") {
            error(d.name, "\(quotedName) has no listen directive")
        }
        if frontend.mode == .tcp {
            for (directive, name) in block.httpOnly {
                error(name, "\"\(directive)\" directive is not allowed in a tcp frontend")
            }
        }
        if !present.contains("backend") && (frontend.mode == .tcp || !present.contains("route")) {
            error(d.name, "\(quotedName) has no backend")
        }
        if let tls = block.firstTLSListen, block.firstCertificate == nil {
            error(tls, "\(quotedName) has a tls listen but no certificate")
        }
        if let certificate = block.firstCertificate, block.firstTLSListen == nil {
            error(certificate, "\(quotedName) has a certificate but no tls listen")
        }
        return frontend
    }
}
