/// `server HOST:PORT [weight=N] [max_fails=N] [fail_timeout=D] [backup] [tls] [verify=on|off]
/// [ca=PATH] [sni=NAME] [slow_start=D] [send_proxy=v1|v2] [resolve]`.
extension ConfigBuilder {
    /// The server, or nil when its address is bad. Parameters are checked even then, to report
    /// their errors too.
    func server(_ c: Directive) -> ServerConfig? {
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
            case ("slow_start", let v?):
                if let ms = duration(p.token, v) { server.slowStartMs = ms }
            case ("send_proxy", let v?):
                server.sendProxy = choice(p.token, v, in: "server", [("v1", ProxyProtocolVersion.v1), ("v2", .v2)])
            case ("resolve", nil):
                server.resolve = true
                resolvedServers.append(p.token)
            default:
                invalidParameter(p.token)
            }
        }
        if let t = tlsParameter, !server.tls {
            error(t, "parameter \"\(t.text)\" requires \"tls\"")
        }
        return address == nil ? nil : server
    }
}

extension ServerConfig {
    /// The address in a form equal for equal addresses ("[0::1]:80" and "[::1]:80" alike), to find
    /// a server written twice in one backend.
    var canonicalAddress: String {
        "\(IPAddress.canonicalIPv6(host) ?? host.lowercased()) \(port)"
    }
}
