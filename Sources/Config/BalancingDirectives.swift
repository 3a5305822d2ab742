/// The arguments of `hash_key`, `sticky` and `discover`.
extension ConfigBuilder {
    /// `hash_key source|uri|header NAME|cookie NAME`.
    func hashKey(_ d: Directive) -> HashKey? {
        let kind = d.args[0]
        switch (kind.text, d.args.count) {
        case ("source", 1): return .source
        case ("uri", 1): return .uri
        case ("header", 2): return .header(d.args[1].text.lowercased())
        case ("cookie", 2): return .cookie(d.args[1].text)
        case ("header", _), ("cookie", _):
            error(kind, "\"hash_key \(kind.text)\" needs a name")
        case ("source", _), ("uri", _):
            error(d.args[1], "invalid parameter \"\(d.args[1].text)\"")
        default:
            error(kind, "invalid value \"\(kind.text)\" in \"hash_key\" directive, expected source, uri, header or cookie")
        }
        return nil
    }

    /// `sticky cookie NAME [max_age=D] [secure] [httponly] [samesite=lax|strict|none]`.
    func sticky(_ d: Directive) -> StickyConfig? {
        guard d.args[0].text == "cookie" else {
            error(d.args[0], "invalid value \"\(d.args[0].text)\" in \"sticky\" directive, expected cookie")
            return nil
        }
        let name = d.args[1]
        guard !name.text.isEmpty, name.text.utf8.allSatisfy(Values.isTokenByte) else {
            error(name, "invalid cookie name \"\(name.text)\"")
            return nil
        }
        var sticky = StickyConfig(cookie: name.text)
        for p in parameters(d.args.dropFirst(2)) {
            switch (p.key, p.value) {
            case ("max_age", let v?): sticky.maxAgeMs = duration(p.token, v, positive: true)
            case ("secure", nil): sticky.secure = true
            case ("httponly", nil): sticky.httpOnly = true
            case ("samesite", let v?):
                sticky.sameSite = choice(p.token, v, in: "sticky", [("lax", "Lax"), ("strict", "Strict"), ("none", "None")])
            default: invalidParameter(p.token)
            }
        }
        return sticky
    }

    /// `discover srv NAME [max=N]`.
    func discover(_ d: Directive) -> DiscoveryConfig? {
        guard d.args[0].text == "srv" else {
            error(d.args[0], "invalid value \"\(d.args[0].text)\" in \"discover\" directive, expected srv")
            return nil
        }
        var discovery = DiscoveryConfig(name: d.args[1].text)
        for p in parameters(d.args.dropFirst(2)) {
            switch (p.key, p.value) {
            case ("max", let v?): discovery.max = number(p.token, v, name: "max", min: 1, max: 1024)
            default: invalidParameter(p.token)
            }
        }
        return discovery
    }

    /// `resolver ADDR:PORT [valid=D]`.
    func resolver(_ d: Directive) -> ResolverConfig? {
        guard let address = Values.listenAddress(d.args[0].text, tls: false) else {
            error(d.args[0], "invalid address \"\(d.args[0].text)\"")
            return nil
        }
        var resolver = ResolverConfig(address: address.description)
        for p in parameters(d.args.dropFirst()) {
            switch (p.key, p.value) {
            case ("valid", let v?): resolver.validMs = duration(p.token, v, positive: true)
            default: invalidParameter(p.token)
            }
        }
        return resolver
    }
}
