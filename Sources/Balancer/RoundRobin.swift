/// Smooth weighted round-robin, as nginx does it: every eligible server gains its weight, the
/// largest running total wins and pays back the sum of the weights. A server of weight 3 against
/// one of weight 1 is picked a a b a, a a b a, ... (3 of every 4, interleaved). Weights are the
/// effective ones, so a server in slow start gets its ramping share.
public struct SmoothWeightedRoundRobin: SelectionAlgorithm {
    private var current: [Int]

    public init(serverCount: Int) {
        current = Array(repeating: 0, count: serverCount)
    }

    public mutating func select<S: ServerSet>(from servers: S, eligibility: Eligibility) -> Int? {
        var best = -1
        var total = 0
        for i in 0..<servers.count where eligibility.allows(i, in: servers) {
            let w = servers.effectiveWeight(i)
            current[i] += w
            total += w
            if best < 0 || current[i] > current[best] { best = i }
        }
        if best < 0 { return nil }
        current[best] -= total
        return best
    }
}
