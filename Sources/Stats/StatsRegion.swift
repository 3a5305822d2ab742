import Glibc

/// The counters every process shares: one anonymous MAP_SHARED mapping, made by the master
/// before it forks, so that workers inherit it and their updates are visible to the master.
///
/// The slot registry (the name → slot dictionaries) lives in ordinary memory and is meant
/// for the master alone; forked workers inherit a copy they do not need. It is not
/// thread-safe, which is why the class is only @unchecked Sendable.
///
/// The mapping is never unmapped: counter views hold a bare pointer into it, and a view that
/// outlived its region would otherwise write into freed memory. A process makes one region.
public final class StatsRegion: @unchecked Sendable {
    private let map: RegionMap
    private let layout: StatsLayout
    private let words: SharedWords

    private var frontends: SlotRegistry<String>
    private var backends: SlotRegistry<String>
    private var servers: SlotRegistry<ServerKey>
    private var workersInUse: [Bool]

    public init(layout: StatsLayout = StatsLayout()) throws(StatsError) {
        map = RegionMap(layout)
        self.layout = layout
        // mmap rejects a zero length; one word keeps an all-zero layout valid.
        let bytes = max(map.totalWords, 1) * MemoryLayout<Int.AtomicRepresentation>.stride
        guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else {
            throw .mapFailed(bytes: bytes, errno: errno)
        }
        // Anonymous mappings are zero-filled, and a zero word is a valid atomic 0.
        words = SharedWords(base: memory.bindMemory(to: Int.AtomicRepresentation.self, capacity: bytes / MemoryLayout<Int.AtomicRepresentation>.stride))
        frontends = SlotRegistry(capacity: layout.maxFrontends)
        backends = SlotRegistry(capacity: layout.maxBackends)
        servers = SlotRegistry(capacity: layout.maxServers)
        workersInUse = Array(repeating: false, count: layout.maxWorkers)
    }

    // MARK: Registry (master only)

    public func frontendSlot(named name: String) -> Int? { frontends.slot(for: name) }
    public func backendSlot(named name: String) -> Int? { backends.slot(for: name) }
    public func serverSlot(backend: String, address: String) -> Int? {
        servers.slot(for: ServerKey(backend: backend, address: address))
    }

    /// A free worker slot, zeroed; nil when every slot is taken.
    public func workerSlot() -> Int? {
        guard let slot = workersInUse.firstIndex(of: false) else { return nil }
        workersInUse[slot] = true
        worker(slot).zero()
        return slot
    }

    /// Call once the worker has exited (after waitpid): a live process would keep writing.
    public func freeWorkerSlot(_ slot: Int) {
        precondition(workersInUse.indices.contains(slot), "worker slot \(slot) out of range")
        workersInUse[slot] = false
    }

    // MARK: Views (any process)

    public func frontend(_ slot: Int) -> FrontendCounters {
        FrontendCounters(words: record(slot, of: layout.maxFrontends, at: map.frontendsAt, FrontendCounters.words))
    }
    public func backend(_ slot: Int) -> BackendCounters {
        BackendCounters(words: record(slot, of: layout.maxBackends, at: map.backendsAt, BackendCounters.words))
    }
    public func server(_ slot: Int) -> ServerCounters {
        ServerCounters(words: record(slot, of: layout.maxServers, at: map.serversAt, ServerCounters.words))
    }
    public func worker(_ slot: Int) -> WorkerCounters {
        WorkerCounters(words: record(slot, of: layout.maxWorkers, at: map.workersAt, WorkerCounters.words))
    }

    private func record(_ slot: Int, of count: Int, at start: Int, _ recordWords: Int) -> SharedWords {
        precondition(slot >= 0 && slot < count, "stats slot \(slot) out of range 0..<\(count)")
        return words.advanced(by: start + slot * RegionMap.stride(recordWords))
    }
}
