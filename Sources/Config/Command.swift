/// One directive that a block accepts, in the manner of nginx's `ngx_command_t`: its name, the
/// shape the builder checks first (how many arguments, a `{ ... }` block or not, whether it may be
/// repeated) and the handler that gives the arguments their meaning in `Block`, the value being
/// built for the block. A handler is called only for a directive of the right shape, so it may
/// index the arguments the shape guarantees.
struct Command<Block>: Sendable {
    typealias Handler = @Sendable (ConfigBuilder, Directive, inout Block) -> Void

    let name: String
    /// The numbers of arguments accepted.
    let arguments: Range<Int>
    let takesBlock: Bool
    let repeatable: Bool
    let handler: Handler

    /// `args` is written `1...1`, `1...2` or `1...` (one or more).
    init(_ name: String, args: some RangeExpression<Int>, block: Bool = false, repeatable: Bool = false,
         _ handler: @escaping Handler) {
        self.name = name
        arguments = args.relative(to: 0..<Int.max)
        takesBlock = block
        self.repeatable = repeatable
        self.handler = handler
    }

    /// A directive of one argument that sets one field, like nginx's `ngx_conf_set_*_slot`:
    /// `parse` returns the value, or nil after reporting why the argument is invalid.
    static func setting<Value>(_ name: String, _ field: WritableKeyPath<Block, Value> & Sendable,
                               _ parse: @escaping @Sendable (ConfigBuilder, Token) -> Value?) -> Command {
        Command(name, args: 1...1) { builder, directive, block in
            if let value = parse(builder, directive.args[0]) { block[keyPath: field] = value }
        }
    }
}

/// The directives of one kind of block, by name.
struct CommandTable<Block>: Sendable {
    private let commands: [String: Command<Block>]

    /// Two rows of the same name are a programming error, which traps when the table is first used.
    init(_ rows: [Command<Block>]) {
        commands = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
    }

    subscript(name: String) -> Command<Block>? { commands[name] }

    var names: Dictionary<String, Command<Block>>.Keys { commands.keys }
}

/// The command table of each kind of block, each defined beside the code that builds that block.
enum Commands {
    /// Every directive name valid in some block: such a name in the wrong block is "not allowed
    /// here" rather than unknown, and at the start of a line it is taken for a new directive that a
    /// missing `;` ran into the previous one.
    static let allNames = Set(main.names).union(stats.names).union(backend.names).union(frontend.names)
}
