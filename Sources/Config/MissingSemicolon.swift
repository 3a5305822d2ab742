/// A forgotten `;` makes the parser read the next line's directive as more arguments. When an
/// argument that starts a line is a directive name, or the argument list is too long and runs
/// onto another line, the directive is cut there, the `;` is reported as missing just after
/// the last argument kept, and the rest is read as a directive of its own.
extension ConfigBuilder {
    func splitAtMissingSemicolons<Block>(_ directive: Directive, with table: CommandTable<Block>) -> [Directive] {
        var parts: [Directive] = []
        var rest = directive
        while let cut = missingSemicolonIndex(rest, with: table) {
            let head = Directive(name: rest.name, args: Array(rest.args[..<cut]))
            error(head.end, "expected \";\" after \"\(head.sourceText)\"")
            parts.append(head)
            rest = Directive(name: rest.args[cut], args: Array(rest.args[(cut + 1)...]),
                             openBrace: rest.openBrace, block: rest.block)
        }
        parts.append(rest)
        return parts
    }

    private func missingSemicolonIndex<Block>(_ directive: Directive, with table: CommandTable<Block>) -> Int? {
        let tooManyArguments = table[directive.name.text].map { directive.args.count >= $0.arguments.upperBound }
        for (i, arg) in directive.args.enumerated() {
            let previous = i == 0 ? directive.name : directive.args[i - 1]
            guard arg.start.line > previous.end.line, !arg.quoted else { continue }
            if Commands.allNames.contains(arg.text) || tooManyArguments == true { return i }
        }
        return nil
    }
}
