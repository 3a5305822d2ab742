/// Turns the directive tree into a `ProxyConfig`, checking every directive against its block's
/// command table and every value, and collecting all errors instead of stopping at the first.
final class ConfigBuilder {
    private(set) var diagnostics: [Diagnostic] = []
    /// Relative paths are resolved against this directory; nil leaves them as written.
    let baseDirectory: String?

    /// References to backends, checked once the whole file is read (a backend may be declared later).
    var backendReferences: [(name: String, token: Token, referrer: String)] = []
    /// Every listen address in the file (frontends and stats), keyed by host and port.
    var listenAddresses: Set<String> = []
    /// `server ... resolve` parameters and `discover` directives: they need a `resolver`.
    var resolvedServers: [Token] = []
    var discoveryDirectives: [Token] = []

    init(baseDirectory: String?) {
        self.baseDirectory = baseDirectory
    }

    func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location: location, message: message))
    }

    func error(_ token: Token, _ message: String) {
        error(token.start, message)
    }

    func build(_ directives: [Directive]) -> ProxyConfig {
        var main = MainBlock()
        read(directives, with: Commands.main, into: &main)
        for reference in backendReferences where !main.backendNames.contains(reference.name) {
            error(reference.token, "\(reference.referrer) refers to unknown backend \"\(reference.name)\"")
        }
        if main.config.resolver == nil {
            for token in resolvedServers + discoveryDirectives {
                error(token, "\"\(token.text)\" needs a \"resolver\" directive at the top level")
            }
        }
        return main.config
    }

    /// Calls the handler of each directive of a block that `table` has and that has the right shape
    /// (argument count, block or not, not a duplicate); reports the others.
    /// Returns the names of the table's directives present in the block, well-formed or not, so
    /// that a bad line is not also reported as a missing directive.
    @discardableResult
    func read<Block>(_ directives: [Directive], with table: CommandTable<Block>,
                     into block: inout Block) -> Set<String> {
        var present: Set<String> = []
        var seen: Set<String> = []
        for directive in directives.flatMap({ splitAtMissingSemicolons($0, with: table) }) {
            let name = directive.name.text
            guard let command = table[name] else {
                if Commands.allNames.contains(name) {
                    error(directive.name, "\"\(name)\" directive is not allowed here")
                } else {
                    error(directive.name, "unknown directive \"\(name)\"")
                }
                continue
            }
            present.insert(name)
            if command.takesBlock && directive.block == nil {
                error(directive.name, "directive \"\(name)\" has no opening \"{\"")
                continue
            }
            if !command.takesBlock, let brace = directive.openBrace {
                error(brace, "unexpected \"{\"")
            }
            if !command.arguments.contains(directive.args.count) {
                error(directive.name, "invalid number of arguments in \"\(name)\" directive")
                continue
            }
            if !command.repeatable && !seen.insert(name).inserted {
                error(directive.name, "\"\(name)\" directive is duplicate")
                continue
            }
            command.handler(self, directive, &block)
        }
        return present
    }

    /// Records `key` in `seen`; false, with a "duplicate KIND" error quoting `token`, when it was
    /// already there.
    func isFirst(_ key: String, in seen: inout Set<String>, kind: String, at token: Token) -> Bool {
        guard seen.insert(key).inserted else {
            error(token, "duplicate \(kind) \"\(token.text)\"")
            return false
        }
        return true
    }
}
