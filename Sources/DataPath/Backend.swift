import Balancer
import Config
import HTTP1
import Stats

/// A backend: its servers and the selector that picks among them. The servers are read through
/// `ServerSet` so that the algorithms stay pure. The selector is swapped whole when what it was
/// built from changes (an operator's weight under `balance hash`).
public final class Backend {
    public let config: BackendConfig
    public let servers: [UpstreamServer]
    public let statsSlot: Int
    var counters: BackendCounters!
    private var selector: Selector
    /// The weights the hash table was built with.
    private var hashedWeights: [Int]
    /// `sticky cookie`: the servers' tokens, and each one's `Set-Cookie` value.
    let sticky: StickyMap?
    let setCookieValues: [[UInt8]]
    /// The field or cookie names requests are read for (`hash_key header|cookie`, `sticky`).
    let hashKeyName: [UInt8]
    let stickyCookieName: [UInt8]

    init(config: BackendConfig, servers: [UpstreamServer], statsSlot: Int) {
        self.config = config
        self.servers = servers
        self.statsSlot = statsSlot
        hashedWeights = servers.map(\.weight)
        selector = Backend.selector(config, servers)
        switch config.hashKey {
        case .header(let name), .cookie(let name): hashKeyName = Array(name.utf8)
        case .source, .uri: hashKeyName = []
        }
        stickyCookieName = Array((config.sticky?.cookie ?? "").utf8)
        if let cookie = config.sticky {
            let map = StickyMap(backend: config.name, addresses: servers.map(\.address.description))
            sticky = map
            setCookieValues = servers.indices.map { Backend.setCookieValue(cookie, token: map.token(of: $0)) }
        } else {
            sticky = nil
            setCookieValues = []
        }
    }

    private static func selector(_ config: BackendConfig, _ servers: [UpstreamServer]) -> Selector {
        switch config.balance {
        case .roundRobin: return Selector(.roundRobin, serverCount: servers.count)
        case .leastConn: return Selector(.leastConnections, serverCount: servers.count)
        case .hash:
            // Over the resolved addresses, so that every instance given the same servers agrees.
            let table = ConsistentHash(servers: servers.map {
                ConsistentHash.Server(address: $0.address.description, weight: $0.weight, backup: $0.config.backup)
            }, balanceFactor: config.hashBalanceFactor)
            return Selector(.hash(table), serverCount: servers.count)
        }
    }

    /// `NAME=TOKEN; Path=/[; Max-Age=N][; Secure][; HttpOnly][; SameSite=X]`.
    private static func setCookieValue(_ c: StickyConfig, token: StickyToken) -> [UInt8] {
        var line = "\(c.cookie)=\(token.text); Path=/"
        if let ms = c.maxAgeMs { line += "; Max-Age=\(ms / 1000)" }
        if c.secure { line += "; Secure" }
        if c.httpOnly { line += "; HttpOnly" }
        if let s = c.sameSite { line += "; SameSite=\(s)" }
        return Array(line.utf8)
    }

    /// The hash of what `hash_key` names in a request (nil when the request has no such field
    /// or cookie, or the backend does not hash).
    func keyHash(_ head: RequestHead, headers: HeaderTable, source: UnsafeRawBufferPointer, peer: AddressText) -> UInt64? {
        guard config.balance == .hash else { return nil }
        switch config.hashKey {
        case .source: return peer.withBytes { StableHash.hash($0) }
        case .uri: return StableHash.hash(UnsafeRawBufferPointer(rebasing: source[head.targetStart..<head.targetEnd]))
        case .header: return RequestKeys.field(hashKeyName, headers: headers, source: source).map { StableHash.hash($0) }
        case .cookie: return RequestKeys.cookie(hashKeyName, headers: headers, source: source).map { StableHash.hash($0) }
        }
    }

    /// The server a request's sticky cookie names, if any.
    func stickyServer(headers: HeaderTable, source: UnsafeRawBufferPointer) -> Int? {
        guard let sticky, let value = RequestKeys.cookie(stickyCookieName, headers: headers, source: source) else { return nil }
        return sticky.server(forCookie: value)
    }

    struct View: ServerSet {
        /// Strong: each use of an `unowned(unsafe)` one costs a retain and a release.
        let backend: Backend
        let now: Int64
        var count: Int { backend.servers.count }
        func weight(_ i: Int) -> Int { backend.servers[i].weight }
        func effectiveWeight(_ i: Int) -> Int { backend.servers[i].effectiveWeight(now: now) }
        func isBackup(_ i: Int) -> Bool { backend.servers[i].config.backup }
        func isUp(_ i: Int) -> Bool { backend.servers[i].takesNewRequests(now: now) }
        func activeRequests(_ i: Int) -> Int { backend.servers[i].shared.inFlight }
        func passiveMarkEnd(_ i: Int) -> Int64? {
            let server = backend.servers[i]
            guard !server.shared.checkDown, server.shared.adminState == .normal else { return nil }
            let end = server.passive.downUntil
            return end > now ? end : nil
        }
    }

    /// The index of the server for the next attempt, nil when none may be tried. When passive
    /// marks alone keep every server out, the one whose mark ends first is tried.
    @inline(__always)
    func pick(tried: TriedSet, now: Int64, keyHash: UInt64?) -> Int? {
        if config.balance == .hash { refreshHashTable() }
        let view = View(backend: self, now: now)
        return selector.pick(from: view, tried: tried, keyHash: keyHash) ?? Selector.earliestMarked(view, tried: tried)
    }

    /// A sticky client's server when it may serve it: up (draining included: its sticky
    /// clients finish there) and not tried yet.
    func stickyPick(_ server: Int, tried: TriedSet, now: Int64) -> Int? {
        guard server < servers.count, !tried.contains(server), servers[server].isUp(now: now) else { return nil }
        return server
    }

    func anyUp(now: Int64) -> Bool {
        Selector.anyUp(View(backend: self, now: now))
    }

    /// Rebuilds the hash table when an operator changed a weight (a load per server per pick).
    private func refreshHashTable() {
        for (i, s) in servers.enumerated() where s.weight != hashedWeights[i] {
            hashedWeights = servers.map(\.weight)
            selector = Backend.selector(config, servers)
            return
        }
    }
}

/// Runs `body` with the bytes of `array`, or with nil.
@inline(__always) @discardableResult
func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}
