enum TokenKind: Equatable {
    case word
    case semicolon
    case openBrace
    case closeBrace
    case endOfFile
}

struct Token {
    var kind: TokenKind
    /// The value with quotes removed and escapes applied.
    var text: String
    /// The text exactly as written, for messages.
    var raw: String
    /// True when any part of the word was quoted: such a word is never taken for a directive name
    /// when guessing where a `;` is missing.
    var quoted: Bool
    var start: SourceLocation
    /// The position just after the token's last character.
    var end: SourceLocation
}
