/// Parsers for argument values. Each returns nil when the text is not valid; the builder turns
/// that into a message quoting the text.
enum Values {
    /// Plain decimal digits only (no sign, no spaces).
    static func number(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// A duration in milliseconds: integer followed by `ms`, `s`, `m` or `h`; a bare integer is seconds.
    static func duration(_ text: String) -> Int? {
        let (digits, unit) = splitNumber(text)
        let multiplier: Int
        switch unit {
        case "ms": multiplier = 1
        case "", "s": multiplier = 1000
        case "m": multiplier = 60_000
        case "h": multiplier = 3_600_000
        default: return nil
        }
        return scaled(digits, by: multiplier)
    }

    /// A size in bytes: integer followed by an optional `k`, `m` or `g` (any case).
    static func size(_ text: String) -> Int? {
        let (digits, unit) = splitNumber(text)
        let multiplier: Int
        switch unit.lowercased() {
        case "": multiplier = 1
        case "k": multiplier = 1 << 10
        case "m": multiplier = 1 << 20
        case "g": multiplier = 1 << 30
        default: return nil
        }
        return scaled(digits, by: multiplier)
    }

    /// tchar (RFC 9110 §5.6.2), for cookie names.
    static func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
            || "!#$%&'*+-.^_`|~".utf8.contains(b)
    }

    static func port(_ text: String) -> UInt16? {
        guard let n = number(text), (1...65535).contains(n) else { return nil }
        return UInt16(n)
    }

    /// `IPv4:PORT`, `[IPv6]:PORT` or `*:PORT` (all IPv4 addresses). IP literals only.
    static func listenAddress(_ text: String, tls: Bool) -> ListenAddress? {
        guard let (host, bracketed, portText) = splitHostPort(text), let port = port(portText) else { return nil }
        if bracketed {
            guard let canonical = IPAddress.canonicalIPv6(host) else { return nil }
            return ListenAddress(host: canonical, port: port, isIPv6: true, tls: tls)
        }
        if host == "*" {
            return ListenAddress(host: "0.0.0.0", port: port, isIPv6: false, tls: tls)
        }
        guard let v4 = IPAddress.parseIPv4(host) else { return nil }
        return ListenAddress(host: IPAddress.formatIPv4(v4), port: port, isIPv6: false, tls: tls)
    }

    /// `HOST:PORT` or `[IPv6]:PORT`, where HOST is an IPv4 literal or a DNS name (not resolved here).
    /// The host is returned without brackets.
    static func serverAddress(_ text: String) -> (host: String, port: UInt16)? {
        guard let (host, bracketed, portText) = splitHostPort(text), let port = port(portText) else { return nil }
        if bracketed {
            return IPAddress.parseIPv6(host) == nil ? nil : (host, port)
        }
        // Something made only of digits and dots is meant as an IPv4 literal, never as a name.
        let looksNumeric = host.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e }
        let valid = looksNumeric ? IPAddress.parseIPv4(host) != nil : isHostName(host)
        return valid ? (host, port) : nil
    }

    /// Splits `host:port` or `[host]:port`; the port text is not checked here.
    private static func splitHostPort(_ text: String) -> (host: String, bracketed: Bool, port: String)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let afterClose = text.index(after: close)
            guard afterClose < text.endIndex, text[afterClose] == ":" else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            return (host, true, String(text[text.index(after: afterClose)...]))
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, !host.contains(":") else { return nil }
        return (host, false, String(text[text.index(after: colon)...]))
    }

    /// A DNS name: dot-separated labels of letters, digits, `-` and `_` (common in container
    /// service names), each 1...63 long and not starting or ending with `-`.
    private static func isHostName(_ host: String) -> Bool {
        guard host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != 0x2d, bytes.last != 0x2d else { return false }
            return bytes.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                    || b == 0x2d || b == 0x5f
            }
        }
    }

    private static func splitNumber(_ text: String) -> (digits: String, unit: String) {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        return (String(digits), String(text.dropFirst(digits.count)))
    }

    private static func scaled(_ digits: String, by multiplier: Int) -> Int? {
        guard let n = number(digits) else { return nil }
        let (result, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : result
    }
}
