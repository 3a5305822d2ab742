/// One parsed field line, as offsets into the head buffer.
public struct HeaderField: Sendable {
    public var nameStart: Int32
    public var nameEnd: Int32
    /// The value with surrounding whitespace (OWS) trimmed.
    public var valueStart: Int32
    public var valueEnd: Int32
    public var known: KnownHeader
    /// Set by the parser: Connection, Keep-Alive, Proxy-Connection, TE, Upgrade, and every header
    /// that Connection names except the protected ones.
    public var hopByHop: Bool
    /// The name contains "_" (dropped from requests unless underscores_in_headers is on).
    public var hasUnderscore: Bool
}

/// Fixed-capacity table of parsed header offsets, allocated once per worker and reused.
public final class HeaderTable {
    @usableFromInline let fields: UnsafeMutablePointer<HeaderField>
    public let capacity: Int
    // Only one worker thread uses a table: skip the dynamic exclusivity check on every append.
    @exclusivity(unchecked) public private(set) var count: Int = 0

    public init(capacity: Int = 128) {
        precondition(capacity > 0, "header table capacity must be positive")
        self.capacity = capacity
        fields = .allocate(capacity: capacity)
    }

    deinit {
        fields.deallocate()
    }

    public subscript(i: Int) -> HeaderField {
        precondition(i >= 0 && i < count, "header index out of range")
        return fields[i]
    }

    @inline(__always) func reset() {
        count = 0
    }

    /// Appends a field; false when the table is full.
    @inline(__always) func append(_ field: HeaderField) -> Bool {
        guard count < capacity else { return false }
        fields[count] = field
        count += 1
        return true
    }

    @inline(__always) func markHopByHop(_ i: Int) {
        fields[i].hopByHop = true
    }
}
