/// How many slots of each kind the shared region holds. Fixed at creation: the region is
/// mapped once, before the workers are forked, and never grows.
public struct StatsLayout: Sendable {
    public var maxFrontends = 64
    public var maxBackends = 64
    public var maxServers = 1024
    public var maxWorkers = 256

    public init() {}
}

/// Where each record lives in the region, in words. Two parts:
/// - the shared part, one `SharedServerState` per server (written by every process);
/// - one area per worker slot, plus one more (the retired area, written by the master only)
///   holding what reaped workers had counted. A worker writes only its own area, so no two
///   processes ever write the same cache line on the per-request path.
/// Records are padded to whole 64-byte lines; areas start on page boundaries so that a freed
/// area can be handed back to the kernel (and read as zeros) with one madvise.
struct RegionMap {
    static let wordsPerLine = 8
    static let wordsPerPage = 512

    let layout: StatsLayout
    let sharedServersAt = 0
    /// Offsets inside one area.
    let workerRecordAt = 0
    let frontendsAt: Int
    let serversAt: Int
    let backendsAt: Int
    let areaWords: Int
    let areasAt: Int
    let totalWords: Int

    init(_ layout: StatsLayout) {
        precondition(layout.maxFrontends >= 0 && layout.maxBackends >= 0
                     && layout.maxServers >= 0 && layout.maxWorkers >= 0, "negative stats layout")
        self.layout = layout
        frontendsAt = Self.stride(WorkerCounters.words)
        serversAt = frontendsAt + layout.maxFrontends * Self.stride(FrontendCounters.words)
        backendsAt = serversAt + layout.maxServers * Self.stride(ServerCounters.words)
        areaWords = Self.pages(backendsAt + layout.maxBackends * Self.stride(BackendCounters.words))
        areasAt = Self.pages(sharedServersAt + layout.maxServers * Self.stride(SharedServerState.words))
        totalWords = areasAt + (layout.maxWorkers + 1) * areaWords
    }

    /// The area of worker slot `slot`; `layout.maxWorkers` is the retired area.
    func area(_ slot: Int) -> Int { areasAt + slot * areaWords }

    /// Words a record of `words` words occupies once rounded up to whole cache lines.
    static func stride(_ words: Int) -> Int {
        (words + wordsPerLine - 1) / wordsPerLine * wordsPerLine
    }

    static func pages(_ words: Int) -> Int {
        (words + wordsPerPage - 1) / wordsPerPage * wordsPerPage
    }
}
