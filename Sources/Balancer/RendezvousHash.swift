import Glibc

/// Weighted rendezvous hashing (Thaler and Ravishankar's highest random weight, weighted by
/// Schindelhauer and Schomaker's logarithmic method): for a key, every server gets a score
/// `weight / -ln(u)`, u being a uniform draw in (0, 1) from the key's hash and the server's
/// address; the key goes to the server with the highest score, and to the next ones in score
/// order when that one may not take it.
///
/// A server's score for a key depends only on the key, its address and its weight, so:
/// - every process with the same (address, weight) pairs ranks the servers the same way for a key,
///   whatever the order of the list;
/// - removing a server moves exactly the keys it had (every other key keeps its highest score),
///   adding one takes keys only onto it, and changing a weight moves keys only to or from it —
///   the minimal disruption a table (Maglev) only approximates;
/// - a server's share of the keys is its weight over the sum of the weights.
/// A pick costs one hash and one logarithm per server of the tier.
struct RendezvousHash: Sendable {
    /// Per server, in the caller's order: the seed its draws are made with (from its address).
    private let seeds: [UInt64]
    private let weights: [Double]

    init(addresses: [String], weights: [Int]) {
        seeds = addresses.map { StableHash.hash($0, seed: RendezvousHash.addressSeed) }
        self.weights = weights.map { Double(max($0, 0)) }
    }

    /// The score of `server` for the key whose `StableHash` is `hash`; 0 for a server of weight 0.
    @inline(__always)
    func score(_ server: Int, hash: UInt64) -> Double {
        // The top 53 bits as a double in (0, 1): never 0, never 1, so the logarithm is finite and negative.
        let u = (Double(StableHash.mix(hash ^ seeds[server]) >> 11) + 0.5) * 0x1p-53
        return weights[server] / -log(u)
    }

    /// True when `a` ranks before `b` for a key: the higher score, and on a tie (weights that make
    /// equal scores, in theory) the larger seed, so that the order never depends on the list's.
    @inline(__always)
    func ranksBefore(_ a: Int, score sa: Double, _ b: Int, score sb: Double) -> Bool {
        sa > sb || (sa == sb && seeds[a] > seeds[b])
    }

    /// Seed that keeps these draws independent of the other uses of `StableHash` on addresses.
    static let addressSeed: UInt64 = 0x7265_6e64_657a_766f
}
