/// Turns the directive tree into a `ProxyConfig`, checking every directive against the schema and
/// every value, and collecting all errors instead of stopping at the first.
final class ConfigBuilder {
    private(set) var diagnostics: [Diagnostic] = []
    /// Relative paths are resolved against this directory; nil leaves them as written.
    let baseDirectory: String?

    /// Names of the backend and frontend blocks read so far.
    var backendNames: Set<String> = []
    var frontendNames: Set<String> = []
    /// References to backends, checked once the whole file is read (a backend may be declared later).
    var backendReferences: [(name: String, token: Token, referrer: String)] = []
    /// Every listen address in the file (frontends and stats), keyed by host and port.
    var listenAddresses: Set<String> = []

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
        let config = buildMain(directives)
        for reference in backendReferences where !backendNames.contains(reference.name) {
            error(reference.token, "\(reference.referrer) refers to unknown backend \"\(reference.name)\"")
        }
        return config
    }

    /// Calls `body` for each directive of a block that is allowed in `context` and has the right
    /// shape (argument count, block or not, not a duplicate); reports the others.
    /// Returns the names of the directives of `context` present in the block, well-formed or not,
    /// so that a bad line is not also reported as a missing directive.
    @discardableResult
    func forEach(_ directives: [Directive], in context: BlockContext, _ body: (Directive) -> Void) -> Set<String> {
        var present: Set<String> = []
        var seen: Set<String> = []
        for directive in directives.flatMap({ splitAtMissingSemicolons($0, in: context) }) {
            let name = directive.name.text
            guard let spec = Schema.spec(name, in: context) else {
                if Schema.allNames.contains(name) {
                    error(directive.name, "\"\(name)\" directive is not allowed here")
                } else {
                    error(directive.name, "unknown directive \"\(name)\"")
                }
                continue
            }
            present.insert(name)
            if spec.takesBlock && directive.block == nil {
                error(directive.name, "directive \"\(name)\" has no opening \"{\"")
                continue
            }
            if !spec.takesBlock, let brace = directive.openBrace {
                error(brace, "unexpected \"{\"")
            }
            if directive.args.count < spec.minArgs || spec.maxArgs.map({ directive.args.count > $0 }) == true {
                error(directive.name, "invalid number of arguments in \"\(name)\" directive")
                continue
            }
            if !spec.repeatable && !seen.insert(name).inserted {
                error(directive.name, "\"\(name)\" directive is duplicate")
                continue
            }
            body(directive)
        }
        return present
    }

    /// A forgotten `;` makes the parser read the next line's directive as more arguments. When an
    /// argument that starts a line is a directive name, or the argument list is too long and runs
    /// onto another line, the directive is cut there, the `;` is reported as missing just after
    /// the last argument kept, and the rest is read as a directive of its own.
    private func splitAtMissingSemicolons(_ directive: Directive, in context: BlockContext) -> [Directive] {
        var parts: [Directive] = []
        var rest = directive
        while let cut = missingSemicolonIndex(rest, in: context) {
            let head = Directive(name: rest.name, args: Array(rest.args[..<cut]))
            error(head.end, "expected \";\" after \"\(head.sourceText)\"")
            parts.append(head)
            rest = Directive(name: rest.args[cut], args: Array(rest.args[(cut + 1)...]),
                             openBrace: rest.openBrace, block: rest.block)
        }
        parts.append(rest)
        return parts
    }

    private func missingSemicolonIndex(_ directive: Directive, in context: BlockContext) -> Int? {
        let maxArgs = Schema.spec(directive.name.text, in: context)?.maxArgs
        for (i, arg) in directive.args.enumerated() {
            let previous = i == 0 ? directive.name : directive.args[i - 1]
            guard arg.start.line > previous.end.line, !arg.quoted else { continue }
            if Schema.allNames.contains(arg.text) { return i }
            if let maxArgs, directive.args.count > maxArgs { return i }
        }
        return nil
    }
}
