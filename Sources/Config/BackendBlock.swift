/// A `backend NAME { ... }` block, being read.
struct BackendBlock {
    var backend: BackendConfig
    /// The servers' addresses, canonical, to find one written twice.
    var serverKeys: Set<String> = []
    var timeouts: Set<String> = []
    /// Directives that mean something only with `balance hash`, checked once the block is read.
    var hashOnly: [Token] = []
}

extension Commands {
    static let backend = CommandTable<BackendBlock>([
        .setting("balance", \.backend.balance) { b, t in
            b.choice(t, in: "balance", [("round_robin", BalanceAlgorithm.roundRobin), ("least_conn", .leastConn), ("hash", .hash)])
        },
        Command("hash_key", args: 1...2) { b, d, block in
            block.hashOnly.append(d.name)
            if let key = b.hashKey(d) { block.backend.hashKey = key }
        },
        Command("hash_balance_factor", args: 1...1) { b, d, block in
            block.hashOnly.append(d.name)
            block.backend.hashBalanceFactor = b.number(d.args[0], name: "hash_balance_factor", min: 101, max: 10_000)
        },
        Command("sticky", args: 2...) { b, d, block in block.backend.sticky = b.sticky(d) },
        Command("discover", args: 2...3) { b, d, block in
            block.backend.discover = b.discover(d)
            b.discoveryDirectives.append(d.name)
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
        let present = read(d.block ?? [], with: Commands.backend, into: &block)
        if !present.contains("server") && !present.contains("discover") {
            error(d.name, "backend \"\(block.backend.name)\" has no servers")
        }
        if block.backend.balance != .hash {
            for name in block.hashOnly { error(name, "\"\(name.text)\" directive requires \"balance hash\"") }
        }
        return block.backend
    }
}
