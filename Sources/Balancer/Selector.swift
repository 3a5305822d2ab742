/// The algorithms a backend can use, behind one concrete type so that the proxy calls them
/// without existentials.
public enum Algorithm: Sendable {
    case roundRobin
    case leastConnections
    /// `balance hash`, with the table built for the backend's current server list.
    case hash(ConsistentHash)
}

public struct Selector {
    private var roundRobin: SmoothWeightedRoundRobin
    private var leastConnections: LeastConnections
    public let algorithm: Algorithm

    /// `serverCount` must be the count of the list a `hash` table was built from.
    public init(_ algorithm: Algorithm, serverCount: Int) {
        if case .hash(let table) = algorithm {
            precondition(table.serverCount == serverCount, "hash table built for another server list")
        }
        self.algorithm = algorithm
        roundRobin = SmoothWeightedRoundRobin(serverCount: serverCount)
        leastConnections = LeastConnections(serverCount: serverCount)
    }

    /// Picks a server for a request: primaries while any primary is up, otherwise backups.
    /// Returns nil when no server may be tried (all down, or all up ones already tried).
    /// `keyHash`: for `hash`, the `StableHash` of the request's key; a request without a key (nil:
    /// no such header or cookie) is balanced round-robin, as HAProxy does. Other algorithms ignore it.
    public mutating func pick<S: ServerSet>(from servers: S, tried: TriedSet, keyHash: UInt64? = nil) -> Int? {
        var anyPrimaryUp = false
        for i in 0..<servers.count where !servers.isBackup(i) && servers.isUp(i) {
            anyPrimaryUp = true
            break
        }
        let eligibility = Eligibility(useBackups: !anyPrimaryUp, tried: tried)
        switch algorithm {
        case .roundRobin: return roundRobin.select(from: servers, eligibility: eligibility)
        case .leastConnections: return leastConnections.select(from: servers, eligibility: eligibility)
        case .hash(let table):
            guard let keyHash else { return roundRobin.select(from: servers, eligibility: eligibility) }
            return table.select(hash: keyHash, from: servers, eligibility: eligibility)
        }
    }

    /// When no server is up and passive marks alone keep some out, the one whose mark ends first
    /// (and that was not tried yet): a lone server that restarted is tried at once instead of
    /// refusing requests until its mark ends, as nginx resets its peers when all are down.
    public static func earliestMarked<S: ServerSet>(_ servers: S, tried: TriedSet) -> Int? {
        var best: Int?
        var bestEnd = Int64.max
        for i in 0..<servers.count where !tried.contains(i) {
            if servers.isUp(i) { return nil }
            if let end = servers.passiveMarkEnd(i), end < bestEnd {
                best = i
                bestEnd = end
            }
        }
        return best
    }

    /// True when at least one server (primary or backup) is up.
    public static func anyUp<S: ServerSet>(_ servers: S) -> Bool {
        for i in 0..<servers.count where servers.isUp(i) { return true }
        return false
    }
}
