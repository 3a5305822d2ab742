import Balancer
import Config
import EventLoop
import Stats
import TLS

/// One upstream server as a worker sees it: resolved address, the state all processes share
/// (in-flight count, health), this worker's own counters, and its pool of idle keep-alive
/// connections.
public final class UpstreamServer {
    public let config: ServerConfig
    public let address: SocketAddress
    public let name: String
    let nameBytes: [UInt8]
    let rule: PassiveHealth
    public let statsSlot: Int
    public let shared: SharedServerState
    var counters: ServerCounters!
    /// Set for `server ... tls`: connections to this server are encrypted.
    let tls: TLSClientContext?
    /// This worker's idle keep-alive connections (LIFO: the most recently used is the warmest).
    var idle: [UpstreamConnection] = []

    init(config: ServerConfig, address: SocketAddress, statsSlot: Int, shared: SharedServerState, tls: TLSClientContext?) {
        self.config = config
        self.address = address
        self.statsSlot = statsSlot
        self.shared = shared
        self.tls = tls
        name = config.address
        nameBytes = Array(config.address.utf8)
        rule = PassiveHealth(maxFails: config.maxFails, failTimeoutMs: config.failTimeoutMs)
    }

    var passive: PassiveHealth.State { PassiveHealth.State(packed: shared.passive) }

    /// Up: no active check, passive mark or operator says otherwise.
    @inline(__always)
    public func isUp(now: Int64) -> Bool {
        !shared.checkDown && now >= passive.downUntil && shared.adminState != .disabled
    }

    /// May take new requests: up and not draining.
    @inline(__always)
    func takesNewRequests(now: Int64) -> Bool {
        isUp(now: now) && shared.adminState == .normal
    }

    /// What /stats calls it: `up`, `down` or `draining`.
    public func state(now: Int64) -> String {
        if !isUp(now: now) { return "down" }
        return shared.adminState == .drain ? "draining" : "up"
    }

    /// The weight in force: the operator's, else the configured one.
    @inline(__always)
    public var weight: Int {
        let set = shared.adminWeight
        return set > 0 ? set : config.weight
    }

    /// The weight the algorithms balance by (`SlowStart.scale` units): ramping up for
    /// `slow_start` after the server came up.
    @inline(__always)
    func effectiveWeight(now: Int64) -> Int {
        let since = shared.upSince
        guard config.slowStartMs > 0, since > 0 else { return weight * SlowStart.scale }
        return SlowStart.effectiveWeight(weight: weight, elapsedMs: now - since, durationMs: Int64(config.slowStartMs))
    }

    /// Counts a failed attempt; returns true when it took the server down.
    func recordFailure(now: Int64) -> Bool {
        counters.failure()
        var tookDown = false
        shared.updatePassive { word in
            var state = PassiveHealth.State(packed: word)
            tookDown = rule.recordFailure(&state, now: now)
            return state.packed
        }
        return tookDown
    }

    /// A good response clears the failures counted towards a mark, and a mark (then the server
    /// is back: said once). A load when there is nothing to clear.
    @inline(__always)
    func recordSuccess(backend: String, logger: Logger) {
        guard shared.passive != 0 else { return }
        let (old, new) = shared.updatePassive { word in
            var state = PassiveHealth.State(packed: word)
            PassiveHealth.recordSuccess(&state)
            return state.packed
        }
        if old != new && PassiveHealth.State(packed: old).downUntil > 0 {
            logger.info("server \(name) of backend \(backend) back after passive failure (it answered)")
        }
    }

    @inline(__always)
    func requestStarted() {
        shared.requestStarted()
        counters.requestStarted()
    }

    @inline(__always)
    func requestFinished() {
        shared.requestFinished()
        counters.requestFinished()
    }
}
