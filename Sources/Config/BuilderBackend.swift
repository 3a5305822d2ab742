/// The `backend NAME { ... }` block.
extension ConfigBuilder {
    func buildBackend(_ d: Directive) -> BackendConfig {
        var backend = BackendConfig(name: d.args[0].text)
        var serverKeys: Set<String> = []
        var timeouts: Set<String> = []
        let present = forEach(d.block ?? [], in: .backend) { c in
            let args = c.args
            switch c.name.text {
            case "balance":
                if let b = choice(args[0], in: "balance", [
                    ("round_robin", BalanceAlgorithm.roundRobin), ("least_conn", .leastConn),
                ]) {
                    backend.balance = b
                }
            case "server":
                if let server = server(c), serverKey(server, args[0], &serverKeys) {
                    backend.servers.append(server)
                }
            case "health_check":
                backend.healthCheck = healthCheck(c)
            case "keepalive":
                if let n = number(args[0], name: "keepalive", min: 0) { backend.keepalive = n }
            case "retries":
                if let n = number(args[0], name: "retries", min: 0) { backend.retries = n }
            case "timeout":
                switch timeout(c, kinds: ["connect", "read"], blockName: "backend", seen: &timeouts) {
                case ("connect", let ms)?: backend.connectTimeoutMs = ms
                case (_, let ms)?: backend.readTimeoutMs = ms
                case nil: break
                }
            default:
                preconditionFailure("directive \(c.name.text) is in the schema but has no handler")
            }
        }
        if !present.contains("server") {
            error(d.name, "backend \"\(backend.name)\" has no servers")
        }
        return backend
    }

    /// Records the server's address; false (with an error) when the backend already has it.
    private func serverKey(_ server: ServerConfig, _ token: Token, _ keys: inout Set<String>) -> Bool {
        let host = IPAddress.canonicalIPv6(server.host) ?? server.host.lowercased()
        guard keys.insert("\(host) \(server.port)").inserted else {
            error(token, "duplicate server \"\(token.text)\"")
            return false
        }
        return true
    }

    /// `server HOST:PORT [weight=N] [max_fails=N] [fail_timeout=D] [backup] [tls] [verify=on|off]
    /// [ca=PATH] [sni=NAME]`. Parameters are checked even when the address is bad, to report their
    /// errors too; nil when the address is bad.
    private func server(_ c: Directive) -> ServerConfig? {
        let addressToken = c.args[0]
        let address = Values.serverAddress(addressToken.text)
        if address == nil {
            error(addressToken, "invalid address \"\(addressToken.text)\"")
        }
        var server = ServerConfig(host: address?.host ?? "", port: address?.port ?? 0, address: addressToken.text,
                                  line: c.name.start.line, column: c.name.start.column)
        var tlsParameter: Token?
        for p in parameters(c.args.dropFirst()) {
            switch (p.key, p.value) {
            case ("weight", let v?):
                if let n = number(p.token, v, name: "weight", min: 1, max: 256) { server.weight = n }
            case ("max_fails", let v?):
                if let n = number(p.token, v, name: "max_fails", min: 0) { server.maxFails = n }
            case ("fail_timeout", let v?):
                if let ms = duration(p.token, v) { server.failTimeoutMs = ms }
            case ("backup", nil):
                server.backup = true
            case ("tls", nil):
                server.tls = true
            case ("verify", let v?):
                tlsParameter = tlsParameter ?? p.token
                if let on = choice(p.token, v, in: "server", [("on", true), ("off", false)]) { server.tlsVerify = on }
            case ("ca", let v?):
                tlsParameter = tlsParameter ?? p.token
                server.tlsCA = path(p.token, v)
            case ("sni", let v?) where !v.isEmpty:
                tlsParameter = tlsParameter ?? p.token
                server.tlsSNI = v
            default:
                invalidParameter(p.token)
            }
        }
        if let t = tlsParameter, !server.tls {
            error(t, "parameter \"\(t.text)\" requires \"tls\"")
        }
        return address == nil ? nil : server
    }

    /// `health_check [path=/p] [interval=D] [timeout=D] [rise=N] [fall=N] [expect=LOW-HIGH]`.
    private func healthCheck(_ c: Directive) -> HealthCheckConfig {
        var check = HealthCheckConfig()
        for p in parameters(c.args[...]) {
            switch (p.key, p.value) {
            case ("path", let v?):
                if v.hasPrefix("/") {
                    check.path = v
                } else {
                    error(p.token, "invalid path \"\(v)\", it must start with \"/\"")
                }
            case ("interval", let v?):
                if let ms = duration(p.token, v, positive: true) { check.intervalMs = ms }
            case ("timeout", let v?):
                if let ms = duration(p.token, v, positive: true) { check.timeoutMs = ms }
            case ("rise", let v?):
                if let n = number(p.token, v, name: "rise", min: 1) { check.rise = n }
            case ("fall", let v?):
                if let n = number(p.token, v, name: "fall", min: 1) { check.fall = n }
            case ("expect", let v?):
                if let (low, high) = statusRange(v) {
                    check.expectLow = low
                    check.expectHigh = high
                } else {
                    error(p.token, "invalid status range \"\(v)\"")
                }
            default:
                invalidParameter(p.token)
            }
        }
        return check
    }

    /// `LOW-HIGH` or a single status code, within 100...599.
    private func statusRange(_ text: String) -> (Int, Int)? {
        let bounds = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = Values.number(String(bounds[0])),
              let high = bounds.count == 2 ? Values.number(String(bounds[1])) : low,
              100 <= low, low <= high, high <= 599 else { return nil }
        return (low, high)
    }
}
