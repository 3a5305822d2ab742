import Balancer
import Config
import EventLoop

/// One upstream server as the worker sees it: resolved address, health, load and idle pool.
final class UpstreamServer {
    let config: ServerConfig
    let address: SocketAddress
    let name: String
    var health: PassiveHealth
    /// Requests in flight from this worker.
    var activeRequests = 0
    /// Idle keep-alive connections (LIFO: the most recently used is the warmest).
    var idle: [Int32] = []

    init(config: ServerConfig, address: SocketAddress) {
        self.config = config
        self.address = address
        name = config.address
        health = PassiveHealth(maxFails: config.maxFails, failTimeoutMs: config.failTimeoutMs)
    }
}

/// A backend: its servers and the selector that picks among them. The servers are read through
/// `ServerSet` so that the algorithms stay pure.
final class Backend {
    let config: BackendConfig
    let servers: [UpstreamServer]
    var selector: Selector
    let index: Int

    init(config: BackendConfig, index: Int, servers: [UpstreamServer]) {
        self.config = config
        self.index = index
        self.servers = servers
        selector = Selector(config.balance == .leastConn ? .leastConnections : .roundRobin, serverCount: servers.count)
    }

    struct View: ServerSet {
        unowned(unsafe) let backend: Backend
        let now: Int64
        var count: Int { backend.servers.count }
        func weight(_ i: Int) -> Int { backend.servers[i].config.weight }
        func isBackup(_ i: Int) -> Bool { backend.servers[i].config.backup }
        func isUp(_ i: Int) -> Bool { backend.servers[i].health.isUp(now: now) }
        func activeRequests(_ i: Int) -> Int { backend.servers[i].activeRequests }
    }

    @inline(__always)
    func pick(tried: TriedSet, now: Int64) -> Int? {
        selector.pick(from: View(backend: self, now: now), tried: tried)
    }

    func anyUp(now: Int64) -> Bool {
        Selector.anyUp(View(backend: self, now: now))
    }
}
