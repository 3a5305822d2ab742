extension Resolver {
    /// Asks for the SRV records of `name`, then for the A and AAAA records of each target the
    /// answer's additional section holds no address for (a target with some there is taken as
    /// given). Records whose target is "." (RFC 2782: no service here) are left out. A target
    /// that does not exist or has no address adds no server; a target whose lookup fails
    /// otherwise fails the whole lookup, so the last answer is kept rather than losing that
    /// target's servers. No server address at all is `.noData`. `completion` runs once, as for
    /// `lookupAddresses`.
    public func lookupSRV(_ name: String, completion: @escaping (Result<SRVAnswer, DNSFailure>) -> Void) {
        query(name, .srv) { [weak self] raw in
            switch raw.flatMap(ReplyParsing.srv) {
            case .failure(let failure): completion(.failure(failure))
            case .success(let reply): self?.resolveTargets(reply, completion: completion)
            }
        }
    }

    private func resolveTargets(_ reply: ReplyParsing.SRVReply, completion: @escaping (Result<SRVAnswer, DNSFailure>) -> Void) {
        let records = reply.records.filter { !$0.target.isEmpty }
        var seen = Set<String>()
        let missing = records.map(\.target).filter { reply.additional[$0] == nil && seen.insert($0).inserted }
        let targets = TargetAddresses(known: reply.additional, waiting: missing.count) { found in
            completion(found.flatMap { addresses in Resolver.assemble(records, ttl: reply.ttl, addresses: addresses) })
        }
        for target in missing {
            lookupAddresses(target) { targets.record(target, $0) }
        }
    }

    /// The records with their targets' addresses; `.noData` when none has any.
    static func assemble(_ records: [SRVRecord], ttl: UInt32,
                         addresses: [String: [AddressRecord]]) -> Result<SRVAnswer, DNSFailure> {
        let complete = records.map {
            SRVRecord(target: $0.target, port: $0.port, weight: $0.weight, priority: $0.priority,
                      addresses: addresses[$0.target] ?? [])
        }
        if complete.allSatisfy({ $0.addresses.isEmpty }) { return .failure(.noData) }
        return .success(SRVAnswer(records: complete, ttl: ttl))
    }
}

/// Collects the addresses of SRV targets as their lookups finish, then completes once with all
/// of them, or with the first failure that was not "nothing there".
private final class TargetAddresses {
    private var addresses: [String: [AddressRecord]]
    private var waiting: Int
    private var failure: DNSFailure?
    private let completion: (Result<[String: [AddressRecord]], DNSFailure>) -> Void

    init(known: [String: [AddressRecord]], waiting: Int,
         completion: @escaping (Result<[String: [AddressRecord]], DNSFailure>) -> Void) {
        addresses = known
        self.waiting = waiting
        self.completion = completion
        if waiting == 0 { completion(.success(known)) }
    }

    func record(_ target: String, _ outcome: Result<AddressAnswer, DNSFailure>) {
        switch outcome {
        case .success(let answer): addresses[target] = answer.records
        case .failure(let f) where f.isEmptyAnswer: addresses[target] = []
        case .failure(let f): failure = failure ?? f
        }
        waiting -= 1
        guard waiting == 0 else { return }
        completion(failure.map { .failure($0) } ?? .success(addresses))
    }
}
