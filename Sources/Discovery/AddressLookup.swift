extension Resolver {
    /// Asks for the A and AAAA records of `name` at once and merges them (see `mergeFamilies`).
    /// `completion` runs once, from `process` or `processTimeouts` (or from this call when c-ares
    /// rejects the name outright); never after `close`.
    public func lookupAddresses(_ name: String, completion: @escaping (Result<AddressAnswer, DNSFailure>) -> Void) {
        let pair = FamilyPair(completion)
        query(name, .a) { pair.v4 = $0.flatMap { ReplyParsing.addresses($0, v6: false) } }
        query(name, .aaaa) { pair.v6 = $0.flatMap { ReplyParsing.addresses($0, v6: true) } }
    }

    /// One answer from the two families. A family that has nothing (NXDOMAIN, no records) adds
    /// nothing; a family that failed otherwise fails the lookup, because answering with the other
    /// family alone would drop the failed family's servers until the next lookup. Both empty:
    /// NXDOMAIN if either said so, else no data.
    static func mergeFamilies(_ v4: Result<[AddressRecord], DNSFailure>,
                              _ v6: Result<[AddressRecord], DNSFailure>) -> Result<AddressAnswer, DNSFailure> {
        var records: [AddressRecord] = []
        var nxdomain = false
        for family in [v4, v6] {
            switch family {
            case .success(let found): records += found
            case .failure(let failure) where failure.isEmptyAnswer: nxdomain = nxdomain || failure == .nxdomain
            case .failure(let failure): return .failure(failure)
            }
        }
        if records.isEmpty { return .failure(nxdomain ? .nxdomain : .noData) }
        return .success(AddressAnswer(records: records))
    }
}

/// Waits for the A and the AAAA outcome, then completes once.
private final class FamilyPair {
    private let completion: (Result<AddressAnswer, DNSFailure>) -> Void
    var v4: Result<[AddressRecord], DNSFailure>? { didSet { finishIfBoth() } }
    var v6: Result<[AddressRecord], DNSFailure>? { didSet { finishIfBoth() } }

    init(_ completion: @escaping (Result<AddressAnswer, DNSFailure>) -> Void) {
        self.completion = completion
    }

    private func finishIfBoth() {
        guard let v4, let v6 else { return }
        completion(Resolver.mergeFamilies(v4, v6))
    }
}
