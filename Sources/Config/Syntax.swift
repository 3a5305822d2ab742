/// One directive of the generic tree: `name arg ... ;` or `name arg ... { ... }`.
/// The tree knows nothing about which directives exist; the builder gives them meaning.
struct Directive {
    var name: Token
    var args: [Token]
    /// The `{` of a block directive, nil for a directive ended by `;` (or by an error).
    var openBrace: Token?
    var block: [Directive]?

    /// The position just after the directive's last word.
    var end: SourceLocation { (args.last ?? name).end }

    /// The directive as written, for messages.
    var sourceText: String { ([name] + args).map(\.raw).joined(separator: " ") }
}

/// Builds the directive tree from tokens. On a syntax error it records it and carries on at the
/// next `;`, `{` or `}`, so that one run reports every error.
struct Parser {
    private let tokens: [Token]
    private var index = 0
    /// When the text was cut short by an unterminated string, complaints about the end of file
    /// would only repeat that error, so they are left out.
    private let reportsEndOfFile: Bool
    private(set) var diagnostics: [Diagnostic] = []

    init(tokens: [Token], reportsEndOfFile: Bool = true) {
        self.tokens = tokens
        self.reportsEndOfFile = reportsEndOfFile
    }

    mutating func parseFile() -> [Directive] {
        parseBlock(closedBy: nil)
    }

    private var current: Token { tokens[index] }

    private mutating func next() {
        if current.kind != .endOfFile { index += 1 }
    }

    private mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location: location, message: message))
    }

    /// Parses directives up to the `}` matching `openBrace` (consumed), or to end of file at top level.
    private mutating func parseBlock(closedBy openBrace: Token?) -> [Directive] {
        var directives: [Directive] = []
        while true {
            let token = current
            switch token.kind {
            case .endOfFile:
                if openBrace != nil && reportsEndOfFile {
                    error(token.start, "unexpected end of file, expecting \"}\"")
                }
                return directives
            case .closeBrace:
                next()
                if openBrace != nil { return directives }
                error(token.start, "unexpected \"}\"")
            case .semicolon:
                error(token.start, "unexpected \";\"")
                next()
            case .openBrace:
                // A block without a name: parse it to keep the braces balanced, then drop it.
                error(token.start, "unexpected \"{\"")
                next()
                _ = parseBlock(closedBy: token)
            case .word:
                directives.append(parseDirective())
            }
        }
    }

    private mutating func parseDirective() -> Directive {
        var directive = Directive(name: current, args: [])
        next()
        while current.kind == .word {
            directive.args.append(current)
            next()
        }
        switch current.kind {
        case .semicolon:
            next()
        case .openBrace:
            let brace = current
            next()
            directive.openBrace = brace
            directive.block = parseBlock(closedBy: brace)
        case .closeBrace, .endOfFile:
            // Leave the token to the enclosing block; the directive itself is complete enough to use.
            if current.kind == .closeBrace || reportsEndOfFile {
                error(directive.end, "expected \";\" after \"\(directive.sourceText)\"")
            }
        case .word:
            preconditionFailure("the argument loop consumes every word")
        }
        return directive
    }
}
