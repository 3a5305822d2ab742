/// The top level of the file, being read.
struct MainBlock {
    var config = ProxyConfig()
    /// Names of the backend and frontend blocks read so far.
    var backendNames: Set<String> = []
    var frontendNames: Set<String> = []
}

extension Commands {
    static let main = CommandTable<MainBlock>([
        Command("workers", args: 1...1) { b, d, main in
            if d.args[0].text == "auto" {
                main.config.workers = .auto
            } else if let n = b.number(d.args[0], name: "workers", min: 1, max: 1024) {
                main.config.workers = .count(n)
            }
        },
        Command("pid_file", args: 1...1) { b, d, main in main.config.pidFile = b.path(d.args[0]) },
        Command("error_log", args: 1...2) { b, d, main in
            if let target = b.logTarget(d.args[0]) { main.config.errorLog = target }
            if d.args.count == 2, let level = b.choice(d.args[1], in: "error_log", [
                ("debug", LogLevel.debug), ("info", .info), ("warn", .warn), ("error", .error),
            ]) {
                main.config.logLevel = level
            }
        },
        .setting("drain_timeout", \.config.drainTimeoutMs) { b, t in b.duration(t) },
        .setting("max_connections", \.config.maxConnections) { b, t in b.number(t, name: "max_connections", min: 1) },
        Command("stats", args: 0...0, block: true) { b, d, main in main.config.stats = b.buildStats(d) },
        Command("resolver", args: 1...2) { b, d, main in main.config.resolver = b.resolver(d) },
        Command("backend", args: 1...1, block: true, repeatable: true) { b, d, main in
            let backend = b.buildBackend(d)
            if b.isFirst(backend.name, in: &main.backendNames, kind: "backend", at: d.args[0]) {
                main.config.backends.append(backend)
            }
        },
        Command("frontend", args: 1...1, block: true, repeatable: true) { b, d, main in
            let frontend = b.buildFrontend(d)
            if b.isFirst(frontend.name, in: &main.frontendNames, kind: "frontend", at: d.args[0]) {
                main.config.frontends.append(frontend)
            }
        },
    ])
}
