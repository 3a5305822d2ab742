/// A name the master keeps resolving, and what its records become.
public struct Watch: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// `server NAME:PORT resolve`: every A and AAAA address of NAME, on PORT.
        case addresses(port: UInt16)
        /// `discover srv NAME [max=N]`: the SRV records of NAME (target addresses, port, weight,
        /// priority), at most `max` servers when given.
        case srv(max: Int?)
    }

    /// Lower case, without a trailing dot, so that equal names make one watch (and one query).
    public let name: String
    public let kind: Kind

    public init(name: String, kind: Kind) {
        self.name = normalizedName(name)
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .addresses(let port): return "\(name):\(port) resolve"
        case .srv(let max): return "srv \(name)" + (max.map { " max=\($0)" } ?? "")
        }
    }
}

/// DNS names compare case-insensitively and "a.example." is "a.example".
func normalizedName(_ name: String) -> String {
    let lower = name.lowercased()
    return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
}
