import Balancer
import Config
import Stats

/// A backend: its servers and the selector that picks among them. The servers are read through
/// `ServerSet` so that the algorithms stay pure.
public final class Backend {
    public let config: BackendConfig
    public let servers: [UpstreamServer]
    public let statsSlot: Int
    var counters: BackendCounters!
    var selector: Selector

    init(config: BackendConfig, servers: [UpstreamServer], statsSlot: Int) {
        self.config = config
        self.servers = servers
        self.statsSlot = statsSlot
        selector = Selector(config.balance == .leastConn ? .leastConnections : .roundRobin, serverCount: servers.count)
    }

    struct View: ServerSet {
        unowned(unsafe) let backend: Backend
        let now: Int64
        var count: Int { backend.servers.count }
        func weight(_ i: Int) -> Int { backend.servers[i].config.weight }
        func isBackup(_ i: Int) -> Bool { backend.servers[i].config.backup }
        func isUp(_ i: Int) -> Bool { backend.servers[i].isUp(now: now) }
        func activeRequests(_ i: Int) -> Int { backend.servers[i].shared.inFlight }
        func passiveMarkEnd(_ i: Int) -> Int64? {
            let server = backend.servers[i]
            guard !server.shared.checkDown else { return nil }
            let end = server.passive.downUntil
            return end > now ? end : nil
        }
    }

    /// The index of the server for the next attempt, nil when none may be tried. When passive
    /// marks alone keep every server out, the one whose mark ends first is tried.
    @inline(__always)
    func pick(tried: TriedSet, now: Int64) -> Int? {
        let view = View(backend: self, now: now)
        return selector.pick(from: view, tried: tried) ?? Selector.earliestMarked(view, tried: tried)
    }

    func anyUp(now: Int64) -> Bool {
        Selector.anyUp(View(backend: self, now: now))
    }
}
