/// The kinds of block a directive can appear in.
enum BlockContext: Equatable {
    case main, stats, backend, frontend
}

/// The shape of one directive in one context; the builder checks it before giving meaning to the
/// arguments.
struct DirectiveSpec {
    var minArgs: Int
    /// nil = any number.
    var maxArgs: Int?
    var takesBlock = false
    var repeatable = false
}

enum Schema {
    static let directives: [BlockContext: [String: DirectiveSpec]] = [
        .main: [
            "workers": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "pid_file": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "error_log": DirectiveSpec(minArgs: 1, maxArgs: 2),
            "drain_timeout": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "max_connections": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "stats": DirectiveSpec(minArgs: 0, maxArgs: 0, takesBlock: true),
            "backend": DirectiveSpec(minArgs: 1, maxArgs: 1, takesBlock: true, repeatable: true),
            "frontend": DirectiveSpec(minArgs: 1, maxArgs: 1, takesBlock: true, repeatable: true),
        ],
        .stats: [
            "listen": DirectiveSpec(minArgs: 1, maxArgs: 1, repeatable: true),
            "allow": DirectiveSpec(minArgs: 1, maxArgs: 1, repeatable: true),
        ],
        .backend: [
            "balance": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "server": DirectiveSpec(minArgs: 1, maxArgs: nil, repeatable: true),
            "health_check": DirectiveSpec(minArgs: 0, maxArgs: nil),
            "keepalive": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "retries": DirectiveSpec(minArgs: 1, maxArgs: 1),
            // Repeatable because each kind may appear once; the builder checks duplicates per kind.
            "timeout": DirectiveSpec(minArgs: 2, maxArgs: 2, repeatable: true),
        ],
        .frontend: [
            "mode": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "listen": DirectiveSpec(minArgs: 1, maxArgs: 2, repeatable: true),
            "certificate": DirectiveSpec(minArgs: 2, maxArgs: 2, repeatable: true),
            "trusted_proxies": DirectiveSpec(minArgs: 1, maxArgs: nil, repeatable: true),
            "route": DirectiveSpec(minArgs: 1, maxArgs: nil, repeatable: true),
            "backend": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "access_log": DirectiveSpec(minArgs: 1, maxArgs: 2),
            "timeout": DirectiveSpec(minArgs: 2, maxArgs: 2, repeatable: true),
            "max_header_size": DirectiveSpec(minArgs: 1, maxArgs: 1),
            "max_body_size": DirectiveSpec(minArgs: 1, maxArgs: 1),
        ],
    ]

    /// Every directive name valid somewhere, to tell "not allowed here" from "unknown".
    static let allNames: Set<String> = Set(directives.values.flatMap(\.keys))

    static func spec(_ name: String, in context: BlockContext) -> DirectiveSpec? {
        directives[context]?[name]
    }
}
