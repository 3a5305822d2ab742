/// How many slots of each kind the shared region holds. Fixed at creation: the region is
/// mapped once, before the workers are forked, and never grows.
public struct StatsLayout: Sendable {
    public var maxFrontends = 64
    public var maxBackends = 64
    public var maxServers = 1024
    public var maxWorkers = 256

    public init() {}
}

/// Word offsets of each record kind inside the region. Records are padded to whole 64-byte
/// cache lines so that counters of different records never share a line.
struct RegionMap {
    static let wordsPerLine = 8

    let frontendsAt: Int
    let backendsAt: Int
    let serversAt: Int
    let workersAt: Int
    let totalWords: Int

    init(_ layout: StatsLayout) {
        precondition(layout.maxFrontends >= 0 && layout.maxBackends >= 0
                     && layout.maxServers >= 0 && layout.maxWorkers >= 0, "negative stats layout")
        frontendsAt = 0
        backendsAt = frontendsAt + layout.maxFrontends * Self.stride(FrontendCounters.words)
        serversAt = backendsAt + layout.maxBackends * Self.stride(BackendCounters.words)
        workersAt = serversAt + layout.maxServers * Self.stride(ServerCounters.words)
        totalWords = workersAt + layout.maxWorkers * Self.stride(WorkerCounters.words)
    }

    /// Words a record of `words` words occupies once rounded up to whole cache lines.
    static func stride(_ words: Int) -> Int {
        (words + wordsPerLine - 1) / wordsPerLine * wordsPerLine
    }
}
