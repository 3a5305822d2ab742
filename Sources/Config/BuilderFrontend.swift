/// The `frontend NAME { ... }` block.
extension ConfigBuilder {
    func buildFrontend(_ d: Directive) -> FrontendConfig {
        var frontend = FrontendConfig(name: d.args[0].text)
        var routeDirectives: [Token] = []
        var firstTLSListen: Token?
        var firstCertificate: Token?
        var timeouts: Set<String> = []
        let present = forEach(d.block ?? [], in: .frontend) { c in
            let args = c.args
            switch c.name.text {
            case "mode":
                if let mode = choice(args[0], in: "mode", [("http", FrontendMode.http), ("tcp", .tcp)]) {
                    frontend.mode = mode
                }
            case "listen":
                var tls = false
                if args.count == 2 {
                    if args[1].text == "tls" {
                        tls = true
                        firstTLSListen = firstTLSListen ?? args[1]
                    } else {
                        invalidParameter(args[1])
                    }
                }
                if let address = listenAddress(args[0], tls: tls) { frontend.listens.append(address) }
            case "certificate":
                firstCertificate = firstCertificate ?? c.name
                if let certificate = path(args[0]), let key = path(args[1]) {
                    frontend.certificates.append(CertificateConfig(
                        certificatePath: certificate, keyPath: key,
                        line: c.name.start.line, column: c.name.start.column))
                }
            case "trusted_proxies":
                frontend.trustedProxies += args.compactMap(cidr)
            case "route":
                routeDirectives.append(c.name)
                if let route = route(c) { frontend.routes.append(route) }
            case "backend":
                frontend.defaultBackend = args[0].text
                backendReferences.append((args[0].text, args[0], "\"backend\" directive"))
            case "access_log":
                if args[0].text == "off" {
                    frontend.accessLog.target = nil
                } else if let target = logTarget(args[0]) {
                    frontend.accessLog.target = target
                }
                if args.count == 2, let format = choice(args[1], in: "access_log", [
                    ("combined", AccessLogFormat.combined), ("json", .json),
                ]) {
                    frontend.accessLog.format = format
                }
            case "timeout":
                switch timeout(c, kinds: ["header", "idle", "send"], blockName: "frontend", seen: &timeouts) {
                case ("header", let ms)?: frontend.headerTimeoutMs = ms
                case ("send", let ms)?: frontend.sendTimeoutMs = ms
                case (_, let ms)?: frontend.idleTimeoutMs = ms
                case nil: break
                }
            case "max_header_size":
                if let n = size(args[0], name: "max_header_size", min: 1 << 10, max: 1 << 20) {
                    frontend.maxHeaderSize = n
                }
            case "max_body_size":
                if let n = size(args[0], name: "max_body_size") { frontend.maxBodySize = n }
            default:
                preconditionFailure("directive \(c.name.text) is in the schema but has no handler")
            }
        }

        let quotedName = "frontend \"\(frontend.name)\""
        if !present.contains("listen") {
            error(d.name, "\(quotedName) has no listen directive")
        }
        if frontend.mode == .tcp {
            for route in routeDirectives {
                error(route, "\"route\" directive is not allowed in a tcp frontend")
            }
        }
        if !present.contains("backend") && (frontend.mode == .tcp || !present.contains("route")) {
            error(d.name, "\(quotedName) has no backend")
        }
        if let tls = firstTLSListen, firstCertificate == nil {
            error(tls, "\(quotedName) has a tls listen but no certificate")
        }
        if let certificate = firstCertificate, firstTLSListen == nil {
            error(certificate, "\(quotedName) has a certificate but no tls listen")
        }
        return frontend
    }

    /// `route [host=H] [path=/prefix] backend=B`.
    private func route(_ c: Directive) -> RouteConfig? {
        var route = RouteConfig(backend: "")
        var sawMatch = false
        var sawBackend = false
        for p in parameters(c.args[...]) {
            switch (p.key, p.value) {
            case ("host", let v?) where !v.isEmpty:
                sawMatch = true
                route.host = v.lowercased()
            case ("path", let v?):
                sawMatch = true
                if v.hasPrefix("/") {
                    route.pathPrefix = v
                } else {
                    error(p.token, "invalid path \"\(v)\", it must start with \"/\"")
                }
            case ("backend", let v?) where !v.isEmpty:
                sawBackend = true
                route.backend = v
                backendReferences.append((v, p.token, "route"))
            default:
                invalidParameter(p.token)
            }
        }
        if !sawMatch {
            error(c.name, "\"route\" directive needs host= or path=")
        }
        if !sawBackend {
            error(c.name, "\"route\" directive needs backend=")
        }
        return sawMatch && sawBackend ? route : nil
    }
}
