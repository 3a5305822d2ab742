/// Maglev's lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
/// Balancer", NSDI 2016), weighted as Envoy weights it: a table of `size` slots (a prime), each
/// holding a server; a key goes to slot `hash % size`.
///
/// Every server has a preference list, a permutation of the slots that depends only on its address
/// (`offset + j * skip`, both from `StableHash`). Servers take turns, in a canonical order (sorted
/// by address, then weight), each claiming the next free slot on its list; a server of weight w takes
/// a turn in w of every `maxWeight` rounds, so it ends up with about `size * w / totalWeight` slots,
/// and every server with a weight > 0 gets at least one. The table is therefore a function of the
/// set of (address, weight) pairs alone: the same in every process, whatever the order of the
/// list. Removing a server frees its slots; the other servers' lists are unchanged, so most of
/// their slots stay theirs (Maglev's "minimal disruption", measured in the tests).
struct MaglevTable: Sendable {
    /// 65537: prime, 2^16 + 1. With up to a few hundred servers each gets over 100 slots, which
    /// keeps shares within about 1% of the weights; the table takes 128 KiB.
    static let size = 65537

    /// Server index (in the caller's list) per slot; empty when no server has a weight.
    let slots: [UInt16]

    /// Builds the table for `servers`: (index in the caller's list, address, weight). Servers with
    /// weight <= 0 get no slot. Indexes must be below 65535.
    init(_ servers: [(index: Int, address: String, weight: Int)]) {
        let members = servers.filter { $0.weight > 0 }.sorted {
            ($0.address.utf8.lexicographicallyPrecedes($1.address.utf8) ||
             $0.address == $1.address && ($0.weight, $0.index) < ($1.weight, $1.index))
        }
        guard !members.isEmpty else {
            slots = []
            return
        }
        precondition(members.allSatisfy { $0.index < Int(UInt16.max) }, "consistent hash: server index beyond 65534")
        let size = MaglevTable.size
        let empty = UInt16.max
        var table = [UInt16](repeating: empty, count: size)
        // Per server: the slot its list points at next, its stride, and when its next turn is due.
        var position = members.map { Int(StableHash.hash($0.address) % UInt64(size)) }
        let skip = members.map { Int(StableHash.hash($0.address, seed: MaglevTable.skipSeed) % UInt64(size - 1)) + 1 }
        var due = [Int](repeating: 0, count: members.count)
        let maxWeight = members.map(\.weight).max()!
        var filled = 0
        var round = 0
        while filled < size {
            for (k, member) in members.enumerated() where round * member.weight >= due[k] {
                due[k] += maxWeight
                while table[position[k]] != empty {
                    position[k] += skip[k]
                    if position[k] >= size { position[k] -= size }
                }
                table[position[k]] = UInt16(member.index)
                filled += 1
                if filled == size { break }
            }
            round += 1
        }
        slots = table
    }

    /// Seed that makes a server's stride independent of its offset.
    static let skipSeed: UInt64 = 0x736b_6970_736b_6970
}
