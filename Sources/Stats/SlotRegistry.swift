/// Hands out slot numbers by key, for the master. A key keeps its slot for the life of the
/// master, so a frontend, backend or server that survives a reload keeps its counters.
/// Slots are never reused: a removed name that comes back finds its old counters.
struct SlotRegistry<Key: Hashable> {
    private var slots: [Key: Int] = [:]
    let capacity: Int

    /// Slots handed out so far: they are 0..<count.
    var count: Int { slots.count }

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The key's slot, assigning the next free one on first sight; nil once all are taken.
    mutating func slot(for key: Key) -> Int? {
        if let slot = slots[key] { return slot }
        guard slots.count < capacity else { return nil }
        let slot = slots.count
        slots[key] = slot
        return slot
    }
}

/// A server is known by its backend and address: the same address in two backends is two servers.
struct ServerKey: Hashable {
    let backend: String
    let address: String
}
