/// `sticky cookie NAME`: the cookie value that names a server without showing its address. It is
/// `StableHash` of the backend name, a zero byte and the server's address, written as 16 lowercase
/// hex digits: the same in every process, after every reload and restart, for as long as the server
/// keeps its address.
public struct StickyToken: Hashable, Sendable {
    /// Characters in a token's text.
    public static let length = 16

    public let value: UInt64

    public init(backend: String, address: String) {
        let bytes = Array(backend.utf8) + [0] + Array(address.utf8)
        value = bytes.withUnsafeBytes { StableHash.hash($0, seed: StickyToken.seed) }
    }

    /// Reads a token's text: exactly 16 lowercase hex digits, else nil.
    public init?(text: UnsafeRawBufferPointer) {
        guard text.count == StickyToken.length else { return nil }
        var v: UInt64 = 0
        for c in text {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = v << 4 | UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = v << 4 | UInt64(c - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        value = v
    }

    /// Writes the token's text into `buffer`; returns 16, or nil when the buffer is shorter.
    public func write(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard buffer.count >= StickyToken.length else { return nil }
        for i in 0..<StickyToken.length {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * i)) & 0xf
            buffer[i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
        }
        return StickyToken.length
    }

    /// The token's text (allocates; for tables built ahead of time, logs and tests).
    public var text: String {
        String(unsafeUninitializedCapacity: StickyToken.length) { write(into: UnsafeMutableRawBufferPointer($0))! }
    }

    private static let seed: UInt64 = 0x7374_6963_6b79_0001
}

/// The tokens of one backend's servers and the way back from a token to a server, built with the
/// server list and swapped whole with it. Lookups allocate nothing.
///
/// Use: on a response, `token(of: server)` goes in `Set-Cookie`; on a request carrying the cookie,
/// `server(forCookie:)` names the server, which the data path uses if it may take the request (up,
/// or draining: sticky requests still reach a draining server; not already tried), and otherwise
/// balances as usual and replaces the cookie.
public struct StickyMap: Sendable {
    /// Token per server index.
    private let tokens: [StickyToken]
    /// Token values in ascending order, and the server index of each.
    private let sortedValues: [UInt64]
    private let sortedServers: [Int]

    public init(backend: String, addresses: [String]) {
        let tokens = addresses.map { StickyToken(backend: backend, address: $0) }
        let order = tokens.indices.sorted { (tokens[$0].value, $0) < (tokens[$1].value, $1) }
        self.tokens = tokens
        sortedValues = order.map { tokens[$0].value }
        sortedServers = order
    }

    public func token(of server: Int) -> StickyToken { tokens[server] }

    /// The server whose token this is, or nil (no such server in this list). Of two servers with
    /// the same address (hence the same token), the first.
    public func server(for token: StickyToken) -> Int? {
        var low = 0
        var high = sortedValues.count
        while low < high {
            let mid = (low + high) / 2
            if sortedValues[mid] < token.value { low = mid + 1 } else { high = mid }
        }
        return low < sortedValues.count && sortedValues[low] == token.value ? sortedServers[low] : nil
    }

    /// The server named by a cookie value, or nil when the value is not a token of this backend.
    public func server(forCookie value: UnsafeRawBufferPointer) -> Int? {
        StickyToken(text: value).flatMap { server(for: $0) }
    }
}
