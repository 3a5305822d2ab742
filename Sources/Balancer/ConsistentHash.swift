/// `balance hash`: consistent hashing of a request key (source address, URI, a header or a cookie
/// value) over the servers' addresses and weights, by weighted rendezvous hashing
/// (`RendezvousHash`) within the tier in use (primary servers, else backups).
///
/// Agreement: a key's ranking of the servers depends only on the (address, weight) pairs, and the
/// key hash is `StableHash`, so every sluice process with the same server list maps a key to the
/// same server without talking to the others. A server that may not take the request (down, wrong
/// tier, already tried) is skipped by walking on to the next server in the key's ranking, so
/// processes that agree on which servers are down also agree on the fallback, and a retry goes to
/// the next server on the walk.
///
/// Slow start: a ramping server (effective weight below `weight * SlowStart.scale`) keeps its rank
/// but admits only a fraction of the keys that rank it first, ramp / maxRamp (maxRamp: the largest
/// ramp among the eligible servers, so that servers that all ramp together lose nothing); the others
/// walk on as if it were down. Admission is a fixed function of the key and the server, so a key
/// only moves onto the server as its ramp grows, never back and forth, and two processes agree
/// whenever they agree on the ramp (they disagree only on the keys between their two ramp values
/// while the ramps last). HAProxy instead grows the server's share of its ring with the effective
/// weight; the result is the same shape, without rebuilding anything during the ramp.
///
/// Bounded loads (`hash_balance_factor` P > 100, Mirrokni et al., as HAProxy does it): a server may
/// hold at most ceil(ceil((L + 1) * P / 100) * w / W) requests, L and W being the in-flight requests
/// and effective weights summed over the tier's up servers; a key whose server is full walks on.
/// This reads live in-flight counts, so processes no longer agree on every key: the cost of the
/// bound. When every candidate is full or refuses the key (possible only when the servers with room
/// were already tried), the first eligible server on the walk is taken.
///
/// Immutable: built once per server list (and again when a weight changes), swapped whole; a pick
/// allocates nothing (the scores live on the stack).
public final class ConsistentHash: Sendable {
    public struct Server: Sendable {
        /// The server's resolved address text, e.g. "10.0.0.5:8080" or "[2001:db8::5]:8080".
        public let address: String
        public let weight: Int
        public let backup: Bool

        public init(address: String, weight: Int, backup: Bool = false) {
            self.address = address
            self.weight = weight
            self.backup = backup
        }
    }

    public let serverCount: Int
    /// Percent of the mean load a server may carry (> 100), or nil for unbounded loads.
    public let balanceFactor: Int?
    private let ranking: RendezvousHash
    /// Per server: what makes its slow-start admission draw independent of other servers'.
    private let admissionSeeds: [UInt64]

    public init(servers: [Server], balanceFactor: Int? = nil) {
        precondition(balanceFactor.map { $0 > 100 } ?? true, "hash_balance_factor must be above 100")
        serverCount = servers.count
        self.balanceFactor = balanceFactor
        ranking = RendezvousHash(addresses: servers.map(\.address), weights: servers.map(\.weight))
        admissionSeeds = servers.map { StableHash.hash($0.address, seed: ConsistentHash.admissionSeed) }
    }

    /// The server for a key whose `StableHash` is `hash` among those `eligibility` allows, or nil
    /// when none is allowed. Contract: returns only an eligible server; the same key, servers and
    /// states give the same answer in every process (bounded loads aside, see above). The caller
    /// hashes the key once per request and keeps the hash for retries.
    func select<S: ServerSet>(hash: UInt64, from servers: S, eligibility: Eligibility) -> Int? {
        let count = min(serverCount, servers.count)
        let tier = TierSummary(servers, eligibility: eligibility, balanceFactor: balanceFactor)
        guard tier.anyEligible else { return nil }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { scores -> Int? in
            // Scores of the tier's servers; -1 marks one that is not in the tier or was walked past.
            for i in 0..<count {
                scores[i] = servers.isBackup(i) == eligibility.useBackups && servers.weight(i) > 0 ? ranking.score(i, hash: hash) : -1
            }
            var fallback: Int?
            while true {
                var best = -1
                for i in 0..<count where scores[i] >= 0 && (best < 0 || ranking.ranksBefore(i, score: scores[i], best, score: scores[best])) {
                    best = i
                }
                guard best >= 0 else { return fallback }
                scores[best] = -1
                guard eligibility.allows(best, in: servers) else { continue }
                if tier.admits(best, hash: hash, seed: admissionSeeds[best], in: servers) && tier.hasRoom(best, in: servers) {
                    return best
                }
                if fallback == nil { fallback = best }
            }
        }
    }

    private static let admissionSeed: UInt64 = 0x6164_6d69_7373_696f
}

/// What a hash pick needs to know about the whole tier before walking: whether any server may be
/// picked, the largest slow-start ramp among those, and the totals for bounded loads.
private struct TierSummary {
    /// A ramp is the effective weight as a fraction of the full one, in 1/`rampOne`.
    static let rampOne = 1 << 16

    var anyEligible = false
    var maxRamp = 0
    /// Bounded loads: the requests allowed in all (ceil((L + 1) * P / 100)) and the effective weight
    /// they are shared by; totalWeight 0 when loads are unbounded.
    var allowed = 0
    var totalWeight = 0

    init<S: ServerSet>(_ servers: S, eligibility: Eligibility, balanceFactor: Int?) {
        var load = 0
        for i in 0..<servers.count where servers.isBackup(i) == eligibility.useBackups && servers.isUp(i) {
            if !eligibility.tried.contains(i) {
                anyEligible = true
                maxRamp = max(maxRamp, TierSummary.ramp(i, in: servers))
            }
            if balanceFactor != nil {
                load += servers.activeRequests(i)
                totalWeight += servers.effectiveWeight(i)
            }
        }
        if let factor = balanceFactor { allowed = ((load + 1) * factor + 99) / 100 }
    }

    static func ramp<S: ServerSet>(_ server: Int, in servers: S) -> Int {
        let full = servers.weight(server) * SlowStart.scale
        let effective = servers.effectiveWeight(server)
        guard full > 0, effective < full else { return rampOne }
        return max(1, effective * rampOne / full)
    }

    /// Slow start: a server admits the keys whose draw falls below its share of the largest ramp.
    func admits<S: ServerSet>(_ server: Int, hash: UInt64, seed: UInt64, in servers: S) -> Bool {
        let ramp = TierSummary.ramp(server, in: servers)
        if ramp >= maxRamp { return true }
        return StableHash.mix(hash ^ seed) % UInt64(maxRamp) < UInt64(ramp)
    }

    /// Bounded loads: below ceil(allowed * w / W) in-flight requests.
    func hasRoom<S: ServerSet>(_ server: Int, in servers: S) -> Bool {
        guard totalWeight > 0 else { return true }
        let cap = (allowed * servers.effectiveWeight(server) + totalWeight - 1) / totalWeight
        return servers.activeRequests(server) < cap
    }
}
