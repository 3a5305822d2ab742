/// Where a directive was written, kept in the typed configuration so that a check made later (a
/// TLS file that cannot be read) can point at the directive as `FILE:LINE:COL`.
///
/// Where a directive was written is not part of what it means: moving a `server` line down, or
/// adding a comment above it, leaves the same configuration, and the two must compare equal. So
/// every position equals every other, and a type that holds one can derive its equality from all
/// its fields instead of listing them by hand (and forgetting the next one added). The parser's
/// own positions, which must compare, are `SourceLocation`.
public struct SourcePosition: Equatable, Sendable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func == (_: SourcePosition, _: SourcePosition) -> Bool { true }
}
