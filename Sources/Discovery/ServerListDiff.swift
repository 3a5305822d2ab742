/// What changed between two server lists of one watch, keyed on `DiscoveredServer.address`: the
/// master adds servers, retires removed ones, and keeps the counters and health of kept ones.
/// Every list is in the module's order (IPv4 first, then by address and port).
public struct ServerListDiff: Equatable, Sendable {
    /// In the new list only.
    public let added: [DiscoveredServer]
    /// In the old list only (old values).
    public let removed: [DiscoveredServer]
    /// In both lists (new values).
    public let kept: [DiscoveredServer]
    /// The kept servers whose weight, priority or backup flag changed (new values).
    public let changed: [DiscoveredServer]

    public init(old: [DiscoveredServer], new: [DiscoveredServer]) {
        var before: [String: DiscoveredServer] = [:]
        for s in old { before[s.address] = s }
        var after: [String: DiscoveredServer] = [:]
        for s in new { after[s.address] = s }
        added = after.values.filter { before[$0.address] == nil }.sorted(by: DiscoveredServer.inOrder)
        removed = before.values.filter { after[$0.address] == nil }.sorted(by: DiscoveredServer.inOrder)
        kept = after.values.filter { before[$0.address] != nil }.sorted(by: DiscoveredServer.inOrder)
        changed = kept.filter { before[$0.address] != $0 }
    }

    /// True when the master has nothing to do.
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}
