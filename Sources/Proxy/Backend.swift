import Balancer
import Config
import EventLoop
import Stats
import TLS

/// One upstream server as a worker sees it: resolved address, its shared counters and health
/// state (in shared memory, so every worker sees the same load and up/down state), and this
/// worker's own pool of idle keep-alive connections.
final class UpstreamServer {
    let config: ServerConfig
    let address: SocketAddress
    let name: String
    let nameBytes: [UInt8]
    let rule: PassiveHealth
    let counters: ServerCounters
    /// Set for `server ... tls`: connections to this server are encrypted.
    let tls: TLSClientContext?
    /// Idle keep-alive connections of this worker (LIFO: the most recently used is the warmest).
    var idle: [IdleConnection] = []

    struct IdleConnection {
        let fd: Int32
        let tls: TLSConnection?
    }

    init(config: ServerConfig, address: SocketAddress, counters: ServerCounters, tls: TLSClientContext?) {
        self.config = config
        self.address = address
        self.counters = counters
        self.tls = tls
        name = config.address
        nameBytes = Array(config.address.utf8)
        rule = PassiveHealth(maxFails: config.maxFails, failTimeoutMs: config.failTimeoutMs)
    }

    @inline(__always)
    func isUp(now: Int64) -> Bool {
        !counters.checkDown && now >= counters.downUntil
    }

    /// Counts a failed attempt; returns true when it took the server down.
    func recordFailure(now: Int64) -> Bool {
        counters.failure()
        var state = PassiveHealth.State(failures: counters.failCount, windowStart: counters.failWindowStart,
                                        downUntil: counters.downUntil)
        let tookDown = rule.recordFailure(&state, now: now)
        counters.failCount = state.failures
        counters.failWindowStart = state.windowStart
        counters.downUntil = state.downUntil
        return tookDown
    }

    @inline(__always)
    func recordSuccess() {
        if counters.failCount != 0 { counters.failCount = 0 }
    }
}

/// A backend: its servers and the selector that picks among them. The servers are read through
/// `ServerSet` so that the algorithms stay pure.
final class Backend {
    let config: BackendConfig
    let servers: [UpstreamServer]
    let counters: BackendCounters
    var selector: Selector

    init(config: BackendConfig, servers: [UpstreamServer], counters: BackendCounters) {
        self.config = config
        self.servers = servers
        self.counters = counters
        selector = Selector(config.balance == .leastConn ? .leastConnections : .roundRobin, serverCount: servers.count)
    }

    struct View: ServerSet {
        unowned(unsafe) let backend: Backend
        let now: Int64
        var count: Int { backend.servers.count }
        func weight(_ i: Int) -> Int { backend.servers[i].config.weight }
        func isBackup(_ i: Int) -> Bool { backend.servers[i].config.backup }
        func isUp(_ i: Int) -> Bool { backend.servers[i].isUp(now: now) }
        func activeRequests(_ i: Int) -> Int { backend.servers[i].counters.activeRequests }
    }

    @inline(__always)
    func pick(tried: TriedSet, now: Int64) -> Int? {
        selector.pick(from: View(backend: self, now: now), tried: tried)
    }

    func anyUp(now: Int64) -> Bool {
        Selector.anyUp(View(backend: self, now: now))
    }
}
