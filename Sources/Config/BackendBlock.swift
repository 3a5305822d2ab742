/// A `backend NAME { ... }` block, being read.
struct BackendBlock {
    var backend: BackendConfig
    /// The servers' addresses, canonical, to find one written twice.
    var serverKeys: Set<String> = []
    var timeouts: Set<String> = []
}

extension Commands {
    static let backend = CommandTable<BackendBlock>([
        .setting("balance", \.backend.balance) { b, t in
            b.choice(t, in: "balance", [("round_robin", BalanceAlgorithm.roundRobin), ("least_conn", .leastConn)])
        },
        Command("server", args: 1..., repeatable: true) { b, d, block in
            guard let server = b.server(d) else { return }
            if b.isFirst(server.canonicalAddress, in: &block.serverKeys, kind: "server", at: d.args[0]) {
                block.backend.servers.append(server)
            }
        },
        Command("health_check", args: 0...) { b, d, block in block.backend.healthCheck = b.healthCheck(d) },
        .setting("keepalive", \.backend.keepalive) { b, t in b.number(t, name: "keepalive", min: 0) },
        .setting("retries", \.backend.retries) { b, t in b.number(t, name: "retries", min: 0) },
        // Repeatable because each kind may appear once; `timeout` reports a repeated kind.
        Command("timeout", args: 2...2, repeatable: true) { b, d, block in
            b.timeout(d, Timeouts.backend, seen: &block.timeouts, into: &block.backend)
        },
    ])
}

extension ConfigBuilder {
    func buildBackend(_ d: Directive) -> BackendConfig {
        var block = BackendBlock(backend: BackendConfig(name: d.args[0].text))
        if !read(d.block ?? [], with: Commands.backend, into: &block).contains("server") {
            error(d.name, "backend \"\(block.backend.name)\" has no servers")
        }
        return block.backend
    }
}
