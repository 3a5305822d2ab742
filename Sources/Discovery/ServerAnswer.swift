/// A watch's answer as the master uses it: servers in the module's order (IPv4 first, then by
/// address and port), one per address, and the TTL deciding when to ask again: the smallest TTL
/// of the records read.
public struct ServerAnswer: Equatable, Sendable {
    public let servers: [DiscoveredServer]
    public let ttl: UInt32

    /// Orders `servers` and keeps the first of each address.
    public init(servers: [DiscoveredServer], ttl: UInt32) {
        var seen = Set<String>()
        self.servers = servers.filter { seen.insert($0.address).inserted }.sorted(by: DiscoveredServer.inOrder)
        self.ttl = ttl
    }

    /// `server NAME:PORT resolve`: every address on `port`, weight 1.
    public init(addresses answer: AddressAnswer, port: UInt16) {
        self.init(servers: answer.records.map { DiscoveredServer(ip: $0.ip, port: port) },
                  ttl: answer.records.map(\.ttl).min() ?? 0)
    }

    /// `discover srv NAME [max=N]`: one server per target address and SRV port. An address that
    /// several records reach keeps the lowest priority, then the largest weight. With `max`, the
    /// preferred servers stay: lowest priority, then largest weight, then the module's order.
    /// Servers of a priority above the lowest kept one are backups.
    public init(srv answer: SRVAnswer, max: Int?) {
        precondition((max ?? 1) >= 1, "max=N keeps at least one server")
        var candidates: [DiscoveredServer] = []
        for record in answer.records {
            for address in record.addresses {
                candidates.append(DiscoveredServer(ip: address.ip, port: record.port, weight: Int(record.weight),
                                                   priority: Int(record.priority)))
            }
        }
        candidates.sort { a, b in
            if a.priority != b.priority { return a.priority < b.priority }
            if a.weight != b.weight { return a.weight > b.weight }
            return DiscoveredServer.inOrder(a, b)
        }
        var seen = Set<String>()
        var chosen = candidates.filter { seen.insert($0.address).inserted }
        if let max, chosen.count > max { chosen.removeLast(chosen.count - max) }
        let primary = chosen.first?.priority ?? 0
        chosen = chosen.map {
            DiscoveredServer(ip: $0.ip, port: $0.port, weight: $0.weight, priority: $0.priority, backup: $0.priority > primary)
        }
        let addressTTLs = answer.records.flatMap { $0.addresses.map(\.ttl) }
        self.init(servers: chosen, ttl: min(answer.ttl, addressTTLs.min() ?? answer.ttl))
    }
}
