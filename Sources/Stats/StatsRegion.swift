import Glibc

/// The counters every process shares: one anonymous MAP_SHARED mapping, made by the master
/// before it forks, so that workers inherit it and their updates are visible to the master.
///
/// Each worker counts into its own area (see `RegionMap`); the master sums the areas of live
/// workers and the retired area, into which it folds a worker's cumulative counters when it
/// reaps it. A dead worker's gauges (open connections, requests in flight) are thus dropped
/// with it, and its share of the shared in-flight counts is given back.
///
/// The slot registry (the name → slot dictionaries) lives in ordinary memory and is meant for
/// the master alone; forked workers inherit a copy they do not need. It is not thread-safe,
/// which is why the class is only @unchecked Sendable.
///
/// The mapping is never unmapped: counter views hold a bare pointer into it, and a view that
/// outlived its region would otherwise write into freed memory. A process makes one region.
public final class StatsRegion: @unchecked Sendable {
    private let map: RegionMap
    private let memory: UnsafeMutableRawPointer
    private let words: SharedWords

    private var frontends: SlotRegistry<String>
    private var backends: SlotRegistry<String>
    private var servers: SlotRegistry<ServerKey>
    private var workersInUse: [Bool]

    public init(layout: StatsLayout = StatsLayout()) throws(StatsError) {
        map = RegionMap(layout)
        let bytes = map.totalWords * MemoryLayout<Int.AtomicRepresentation>.stride
        guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else {
            throw .mapFailed(bytes: bytes, errno: errno)
        }
        // Anonymous mappings are zero-filled, and a zero word is a valid atomic 0.
        self.memory = memory
        words = SharedWords(base: memory.bindMemory(to: Int.AtomicRepresentation.self, capacity: map.totalWords))
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

    /// A free worker slot (its area is all zeros); nil when every slot is taken.
    public func workerSlot() -> Int? {
        guard let slot = workersInUse.firstIndex(of: false) else { return nil }
        workersInUse[slot] = true
        return slot
    }

    /// Call once the worker has exited (after waitpid): folds its cumulative counters into the
    /// retired area, gives back its requests in flight, and zeroes the area for the next worker.
    public func retireWorker(_ slot: Int) {
        precondition(workersInUse.indices.contains(slot) && workersInUse[slot], "worker slot \(slot) is not in use")
        let dead = area(slot)
        let retired = area(map.layout.maxWorkers)
        for f in 0..<frontends.count { dead.frontend(f).retire(into: retired.frontend(f)) }
        for b in 0..<backends.count { dead.backend(b).retire(into: retired.backend(b)) }
        for s in 0..<servers.count {
            let counters = dead.server(s)
            counters.retire(into: retired.server(s))
            shared(server: s).giveBack(counters.inFlight)
        }
        clear(dead)
        workersInUse[slot] = false
    }

    /// Zeroes an area: MADV_REMOVE hands its pages back to the kernel (they read as zeros
    /// again); should that fail, they are cleared by hand.
    private func clear(_ area: WorkerArea) {
        let bytes = map.areaWords * MemoryLayout<Int.AtomicRepresentation>.stride
        let start = UnsafeMutableRawPointer(area.words.base)
        if madvise(start, bytes, MADV_REMOVE) != 0 { start.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    }

    // MARK: Views (any process)

    /// The counters a worker in `slot` writes.
    public func area(_ slot: Int) -> WorkerArea {
        precondition(slot >= 0 && slot <= map.layout.maxWorkers, "worker slot \(slot) out of range")
        return WorkerArea(words: words.advanced(by: map.area(slot)), map: map)
    }

    public func shared(server slot: Int) -> SharedServerState {
        precondition(slot >= 0 && slot < map.layout.maxServers, "server slot \(slot) out of range")
        return SharedServerState(words: words.advanced(by: map.sharedServersAt + slot * RegionMap.stride(SharedServerState.words)))
    }

    // MARK: Totals (master)

    /// Areas whose counts make up the totals: live workers' and the retired one.
    private var countingAreas: [WorkerArea] {
        workersInUse.indices.filter { workersInUse[$0] }.map(area) + [area(map.layout.maxWorkers)]
    }

    public func frontendValues(_ slot: Int) -> FrontendValues {
        countingAreas.reduce(FrontendValues()) { $0 + $1.frontend(slot).read() }
    }

    public func serverValues(_ slot: Int) -> ServerValues {
        var values = countingAreas.reduce(ServerValues()) { $0 + $1.server(slot).read() }
        values.activeRequests = shared(server: slot).inFlight
        return values
    }

    public func backendHistogram(_ slot: Int) -> HistogramValues {
        countingAreas.reduce(HistogramValues()) { $0 + $1.backend(slot).read() }
    }
}

/// The counters of one worker slot (or of the retired area).
public struct WorkerArea: @unchecked Sendable {
    let words: SharedWords
    let map: RegionMap

    public var worker: WorkerCounters { WorkerCounters(words: words.advanced(by: map.workerRecordAt)) }

    public func frontend(_ slot: Int) -> FrontendCounters {
        FrontendCounters(words: record(slot, of: map.layout.maxFrontends, at: map.frontendsAt, FrontendCounters.words))
    }
    public func server(_ slot: Int) -> ServerCounters {
        ServerCounters(words: record(slot, of: map.layout.maxServers, at: map.serversAt, ServerCounters.words))
    }
    public func backend(_ slot: Int) -> BackendCounters {
        BackendCounters(words: record(slot, of: map.layout.maxBackends, at: map.backendsAt, BackendCounters.words))
    }

    private func record(_ slot: Int, of count: Int, at start: Int, _ recordWords: Int) -> SharedWords {
        precondition(slot >= 0 && slot < count, "stats slot \(slot) out of range 0..<\(count)")
        return words.advanced(by: start + slot * RegionMap.stride(recordWords))
    }
}
