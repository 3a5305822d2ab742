/// Least connections: the eligible server with the fewest in-flight requests relative to its
/// effective weight (so a server in slow start counts as fuller than it is). Ties are broken round-robin: the scan starts after the previous pick, and the first
/// server with the lowest load in scan order wins.
public struct LeastConnections: SelectionAlgorithm {
    private var next = 0

    public init(serverCount: Int) {}

    public mutating func select<S: ServerSet>(from servers: S, eligibility: Eligibility) -> Int? {
        let n = servers.count
        guard n > 0 else { return nil }
        var best = -1
        var bestActive = 0
        var bestWeight = 1
        for k in 0..<n {
            let i = (next + k) % n
            guard eligibility.allows(i, in: servers) else { continue }
            let active = servers.activeRequests(i)
            let weight = servers.effectiveWeight(i)
            // active/weight < bestActive/bestWeight, without division.
            if best < 0 || active * bestWeight < bestActive * weight {
                best = i
                bestActive = active
                bestWeight = weight
            }
        }
        if best < 0 { return nil }
        next = (best + 1) % n
        return best
    }
}
