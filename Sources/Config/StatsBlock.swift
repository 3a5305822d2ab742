/// The `stats { ... }` block.
extension Commands {
    static let stats = CommandTable<StatsConfig>([
        Command("listen", args: 1...1, repeatable: true) { b, d, stats in
            if let address = b.listenAddress(d.args[0], tls: false) { stats.listens.append(address) }
        },
        Command("allow", args: 1...1, repeatable: true) { b, d, stats in
            if let cidr = b.cidr(d.args[0]) { stats.allow.append(cidr) }
        },
        .setting("admin", \.admin) { b, t in b.choice(t, in: "admin", [("on", true), ("off", false)]) },
    ])
}

extension ConfigBuilder {
    func buildStats(_ d: Directive) -> StatsConfig {
        var stats = StatsConfig()
        if !read(d.block ?? [], with: Commands.stats, into: &stats).contains("listen") {
            error(d.name, "stats has no listen directive")
        }
        return stats
    }
}
