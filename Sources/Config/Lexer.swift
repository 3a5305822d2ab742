/// Splits configuration text into words, `;`, `{` and `}`.
///
/// A word is a run of characters up to whitespace, `;`, `{`, `}` or `#`; parts of it may be quoted
/// with `"..."`, inside which those characters are ordinary and `\"` and `\\` are the only escapes.
/// `#` outside quotes starts a comment that runs to the end of the line.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var location = SourceLocation(line: 1, column: 1)
    /// Where the most recent newline stood, so that end of file is reported on the last line rather
    /// than on the empty line after a trailing newline.
    private var lastNewline: SourceLocation?
    private(set) var diagnostics: [Diagnostic] = []
    /// True when the text ended inside a quoted string (already reported).
    private(set) var endedInsideQuotes = false

    init(text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// All tokens, always ending with one `.endOfFile`.
    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            skipWhitespaceAndComments()
            guard let c = peek() else { break }
            let start = location
            switch c {
            case ";": tokens.append(single(.semicolon, start))
            case "{": tokens.append(single(.openBrace, start))
            case "}": tokens.append(single(.closeBrace, start))
            default: tokens.append(word())
            }
        }
        let eof = scalars.last == "\n" ? (lastNewline ?? location) : location
        tokens.append(Token(kind: .endOfFile, text: "", raw: "", quoted: false, start: eof, end: eof))
        return tokens
    }

    private func peek() -> Unicode.Scalar? {
        index < scalars.count ? scalars[index] : nil
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            lastNewline = location
            location.line += 1
            location.column = 1
        } else {
            location.column += 1
        }
        index += 1
    }

    private static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r"
    }

    private mutating func skipWhitespaceAndComments() {
        while let c = peek() {
            if Self.isWhitespace(c) {
                advance()
            } else if c == "#" {
                while let d = peek(), d != "\n" { advance() }
            } else {
                return
            }
        }
    }

    private mutating func single(_ kind: TokenKind, _ start: SourceLocation) -> Token {
        let raw = String(scalars[index])
        advance()
        return Token(kind: kind, text: raw, raw: raw, quoted: false, start: start, end: location)
    }

    private mutating func word() -> Token {
        let start = location
        let startIndex = index
        var text = String.UnicodeScalarView()
        var quoted = false
        while let c = peek(), !Self.isWhitespace(c), c != ";", c != "{", c != "}", c != "#" {
            if c == "\"" {
                quoted = true
                quotedPart(into: &text)
            } else {
                text.append(c)
                advance()
            }
        }
        var raw = String.UnicodeScalarView()
        raw.append(contentsOf: scalars[startIndex..<index])
        return Token(kind: .word, text: String(text), raw: String(raw), quoted: quoted, start: start, end: location)
    }

    /// Reads `"..."` starting at the opening quote, appending its decoded content.
    private mutating func quotedPart(into text: inout String.UnicodeScalarView) {
        let open = location
        advance()
        while let c = peek() {
            switch c {
            case "\"":
                advance()
                return
            case "\\":
                let escape = location
                advance()
                guard let e = peek() else { continue }
                if e != "\"" && e != "\\" {
                    diagnostics.append(Diagnostic(location: escape, message: "invalid escape \"\\\(e)\""))
                }
                text.append(e)
                advance()
            default:
                text.append(c)
                advance()
            }
        }
        diagnostics.append(Diagnostic(location: open, message: "unterminated quoted string"))
        endedInsideQuotes = true
    }
}
