/// An address record with the TTL it was published with (RFC 2181: a TTL with the top bit set
/// counts as 0).
public struct AddressRecord: Equatable, Sendable {
    /// 4 (A) or 16 (AAAA) bytes, network order.
    public let ip: [UInt8]
    public let ttl: UInt32

    public init(ip: [UInt8], ttl: UInt32) {
        self.ip = ip
        self.ttl = ttl
    }
}

/// The A and AAAA records of one name, merged; never empty (an empty answer is a failure).
public struct AddressAnswer: Equatable, Sendable {
    public let records: [AddressRecord]

    public init(records: [AddressRecord]) { self.records = records }
}

/// One SRV record with the addresses of its target.
public struct SRVRecord: Equatable, Sendable {
    /// Lower case, without the trailing dot.
    public let target: String
    public let port: UInt16
    public let weight: UInt16
    public let priority: UInt16
    /// From the answer's additional section when it held them, else from A/AAAA queries of the target.
    public let addresses: [AddressRecord]

    public init(target: String, port: UInt16, weight: UInt16, priority: UInt16, addresses: [AddressRecord]) {
        self.target = target
        self.port = port
        self.weight = weight
        self.priority = priority
        self.addresses = addresses
    }
}

/// The SRV records of one name. `ttl` is the SRV RRset's (RFC 2181 5.2: the records of one set
/// share it; the smallest is taken if they differ); the addresses carry their own.
public struct SRVAnswer: Equatable, Sendable {
    public let records: [SRVRecord]
    public let ttl: UInt32

    public init(records: [SRVRecord], ttl: UInt32) {
        self.records = records
        self.ttl = ttl
    }
}
