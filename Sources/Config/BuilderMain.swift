/// Top-level directives and the `stats` block.
extension ConfigBuilder {
    func buildMain(_ directives: [Directive]) -> ProxyConfig {
        var config = ProxyConfig()
        forEach(directives, in: .main) { d in
            let args = d.args
            switch d.name.text {
            case "workers":
                if args[0].text == "auto" {
                    config.workers = .auto
                } else if let n = number(args[0], name: "workers", min: 1, max: 1024) {
                    config.workers = .count(n)
                }
            case "pid_file":
                config.pidFile = path(args[0])
            case "error_log":
                if let target = logTarget(args[0]) { config.errorLog = target }
                if args.count == 2, let level = choice(args[1], in: "error_log", [
                    ("debug", LogLevel.debug), ("info", .info), ("warn", .warn), ("error", .error),
                ]) {
                    config.logLevel = level
                }
            case "drain_timeout":
                if let ms = duration(args[0]) { config.drainTimeoutMs = ms }
            case "max_connections":
                if let n = number(args[0], name: "max_connections", min: 1) { config.maxConnections = n }
            case "stats":
                config.stats = buildStats(d)
            case "backend":
                let backend = buildBackend(d)
                if backendNames.insert(backend.name).inserted {
                    config.backends.append(backend)
                } else {
                    error(args[0], "duplicate backend \"\(backend.name)\"")
                }
            case "frontend":
                let frontend = buildFrontend(d)
                if frontendNames.insert(frontend.name).inserted {
                    config.frontends.append(frontend)
                } else {
                    error(args[0], "duplicate frontend \"\(frontend.name)\"")
                }
            default:
                preconditionFailure("directive \(d.name.text) is in the schema but has no handler")
            }
        }
        return config
    }

    private func buildStats(_ d: Directive) -> StatsConfig {
        var stats = StatsConfig()
        let present = forEach(d.block ?? [], in: .stats) { c in
            switch c.name.text {
            case "listen":
                if let address = listenAddress(c.args[0], tls: false) { stats.listens.append(address) }
            case "allow":
                if let cidr = cidr(c.args[0]) { stats.allow.append(cidr) }
            default:
                preconditionFailure("directive \(c.name.text) is in the schema but has no handler")
            }
        }
        if !present.contains("listen") {
            error(d.name, "stats has no listen directive")
        }
        return stats
    }
}
