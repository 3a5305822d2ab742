import Stats

/// A fixed snapshot with the figures of SPEC §5, shared by the renderer tests.
enum Fixture {
    /// 100 responses in (1 ms, 2.5 ms]: p50 = 1.75 ms, p99 = 2.485 ms by interpolation.
    static let serverHistogram = HistogramValues(counts: counts([2: 100]), sum: 0.18)
    /// Cumulative over the bounds: 3 at le=0.0005, 10 at 0.001, 10 …, 12 at 0.1, 13 at +Inf.
    static let backendHistogram = HistogramValues(counts: counts([0: 3, 1: 7, 7: 2, 14: 1]), sum: 12.5)

    static let snapshot = StatsSnapshot(
        version: "0.1.0", pid: 4242, uptimeSeconds: 81.5, generation: 3,
        reloadsSucceeded: 2, reloadsFailed: 1,
        lastReloadError: "proxy.conf:7:5: unknown directive \"blance\"",
        workers: [
            WorkerSnapshot(pid: 4250, generation: 3, connectionsActive: 12, requestsTotal: 4567, restarts: 0),
            WorkerSnapshot(pid: 4251, generation: 3, connectionsActive: 0, requestsTotal: 9, restarts: 2),
        ],
        frontends: [
            FrontendSnapshot(name: "web", values: FrontendValues(
                connectionsActive: 12, connectionsTotal: 300, requestsTotal: 4567,
                bytesIn: 1_200_000, bytesOut: 9_800_000, responses: [0, 4500, 0, 60, 7])),
        ],
        backends: [
            BackendSnapshot(name: "app", balance: "least_conn", histogram: backendHistogram, servers: [
                ServerSnapshot(address: "127.0.0.1:9001", weight: 3, backup: false, state: "up",
                               values: ServerValues(activeRequests: 3, requestsTotal: 2300, failuresTotal: 1,
                                                    responses: [0, 2290, 0, 9, 1], histogram: serverHistogram)),
                ServerSnapshot(address: "[::1]:9002", weight: 1, backup: true, state: "down",
                               values: ServerValues()),
            ]),
        ])

    /// Names that need escaping in every format.
    static let awkwardName = "we\"b\\<i>\n&'"

    static var awkwardSnapshot: StatsSnapshot {
        var s = snapshot
        s.frontends[0].name = awkwardName
        s.backends[0].name = awkwardName
        s.backends[0].servers[0].address = awkwardName
        s.lastReloadError = "bad <thing>\u{1}"
        return s
    }

    static func counts(_ filled: [Int: Int]) -> [Int] {
        (0..<Histogram.bucketCount).map { filled[$0] ?? 0 }
    }
}
