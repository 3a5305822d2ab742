/// Value helpers for the builder: each parses one argument (or one `key=value` value) and reports
/// a message quoting the offending text when it is invalid.
extension ConfigBuilder {
    /// A number in `min...max`; `name` is what the message calls it.
    func number(_ token: Token, _ text: String? = nil, name: String, min: Int, max: Int = Int.max) -> Int? {
        let text = text ?? token.text
        guard let value = Values.number(text) else {
            error(token, "invalid number \"\(text)\"")
            return nil
        }
        return inRange(value, token, text, name: name, min: min, max: max)
    }

    /// A duration in milliseconds; `positive` rejects zero.
    func duration(_ token: Token, _ text: String? = nil, positive: Bool = false) -> Int? {
        let text = text ?? token.text
        guard let value = Values.duration(text) else {
            error(token, "invalid duration \"\(text)\"")
            return nil
        }
        if positive && value == 0 {
            error(token, "duration \"\(text)\" must be greater than 0")
            return nil
        }
        return value
    }

    func size(_ token: Token, name: String, min: Int = 0, max: Int = Int.max) -> Int? {
        guard let value = Values.size(token.text) else {
            error(token, "invalid size \"\(token.text)\"")
            return nil
        }
        return inRange(value, token, token.text, name: name, min: min, max: max)
    }

    private func inRange(_ value: Int, _ token: Token, _ text: String, name: String, min: Int, max: Int) -> Int? {
        guard value < min || value > max else { return value }
        if max == Int.max {
            error(token, "\"\(name)\" must be at least \(min), got \"\(text)\"")
        } else {
            error(token, "\"\(name)\" must be between \(min) and \(max), got \"\(text)\"")
        }
        return nil
    }

    /// One of a fixed set of words.
    func choice<T>(_ token: Token, _ text: String? = nil, in directive: String, _ options: [(String, T)]) -> T? {
        let text = text ?? token.text
        if let match = options.first(where: { $0.0 == text }) { return match.1 }
        let names = options.map(\.0)
        let expected = names.dropLast().joined(separator: ", ") + " or " + names.last!
        error(token, "invalid value \"\(text)\" in \"\(directive)\" directive, expected \(expected)")
        return nil
    }

    /// A file path, resolved against the configuration file's directory when relative.
    func path(_ token: Token, _ text: String? = nil) -> String? {
        let text = text ?? token.text
        guard !text.isEmpty else {
            error(token, "invalid path \"\"")
            return nil
        }
        guard let base = baseDirectory, !text.hasPrefix("/") else { return text }
        return base.hasSuffix("/") ? base + text : base + "/" + text
    }

    /// A URL path, which must start with `/`.
    func urlPath(_ token: Token, _ text: String) -> String? {
        guard text.hasPrefix("/") else {
            error(token, "invalid path \"\(text)\", it must start with \"/\"")
            return nil
        }
        return text
    }

    /// `stdout`, `stderr` or a file path.
    func logTarget(_ token: Token) -> LogTarget? {
        switch token.text {
        case "stdout": return .stdout
        case "stderr": return .stderr
        default: return path(token).map(LogTarget.file)
        }
    }

    func cidr(_ token: Token) -> CIDR? {
        guard let cidr = CIDR(parsing: token.text) else {
            error(token, "invalid CIDR \"\(token.text)\"")
            return nil
        }
        return cidr
    }

    /// A listen address, also checked against every other listen address in the file.
    func listenAddress(_ token: Token, tls: Bool) -> ListenAddress? {
        guard let address = Values.listenAddress(token.text, tls: tls) else {
            error(token, "invalid address \"\(token.text)\"")
            return nil
        }
        return isFirst(address.description, in: &listenAddresses, kind: "listen address", at: token) ? address : nil
    }

    /// `key=value` and bare-word parameters; a repeated key is reported and left out.
    func parameters(_ tokens: ArraySlice<Token>) -> [(key: String, value: String?, token: Token)] {
        var seen: Set<String> = []
        var result: [(key: String, value: String?, token: Token)] = []
        for token in tokens {
            let parts = token.text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard seen.insert(key).inserted else {
                error(token, "duplicate parameter \"\(key)\"")
                continue
            }
            result.append((key, parts.count == 2 ? String(parts[1]) : nil, token))
        }
        return result
    }

    func invalidParameter(_ token: Token) {
        error(token, "invalid parameter \"\(token.text)\"")
    }
}
