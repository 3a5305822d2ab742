/// What a selection algorithm may know about the servers of one backend at the moment of a pick.
/// The proxy supplies it (local arrays today, shared memory once workers share state); the
/// algorithms stay pure and testable.
public protocol ServerSet {
    var count: Int { get }
    /// The configured (or operator-set) weight.
    func weight(_ server: Int) -> Int
    /// The weight the algorithms balance by, in `SlowStart.scale` units: `weight * scale` unless
    /// the server is ramping up (`SlowStart.effectiveWeight`). Defaults to `weight * scale`.
    func effectiveWeight(_ server: Int) -> Int
    func isBackup(_ server: Int) -> Bool
    /// Up: not marked down by passive or active health checks.
    func isUp(_ server: Int) -> Bool
    /// Requests in flight on this server (across all workers where that is shared).
    func activeRequests(_ server: Int) -> Int
    /// When the server is out only because of a passive mark (no active check or operator says
    /// it is down): when that mark ends. nil otherwise.
    func passiveMarkEnd(_ server: Int) -> Int64?
}

extension ServerSet {
    @inline(__always)
    public func effectiveWeight(_ server: Int) -> Int { weight(server) * SlowStart.scale }
}

/// Servers already attempted for the current request (bit i = server i; servers past 63 are never
/// recorded, which at worst lets a retry revisit one of them).
public struct TriedSet: Equatable, Sendable {
    public private(set) var bits: UInt64 = 0
    public init() {}
    @inline(__always) public func contains(_ server: Int) -> Bool { server < 64 && bits & (1 << UInt64(server)) != 0 }
    @inline(__always) public mutating func insert(_ server: Int) { if server < 64 { bits |= 1 << UInt64(server) } }
}

/// One balancing algorithm (HAProxy's lb_* ops, Pingora's selection trait).
public protocol SelectionAlgorithm {
    init(serverCount: Int)
    /// Picks one server among `eligible` ones, or nil when none is eligible.
    /// Contract: calls `eligible(i)` only through `Eligibility`, never picks an ineligible server,
    /// and updates its own rotation state only when it returns a server.
    mutating func select<S: ServerSet>(from servers: S, eligibility: Eligibility) -> Int?
}

/// Which servers a pick may return: the right tier (primary, or backup when no primary is up),
/// up, and not already tried for this request.
public struct Eligibility: Sendable {
    public let useBackups: Bool
    public let tried: TriedSet

    @inline(__always)
    public func allows<S: ServerSet>(_ server: Int, in servers: S) -> Bool {
        servers.isBackup(server) == useBackups && servers.isUp(server) && !tried.contains(server)
    }
}
