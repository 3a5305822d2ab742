import CLinux
import Config
import DataPath
import Discovery
import EventLoop
import Stats

/// DNS discovery (`resolver`, `server NAME:PORT resolve`, `discover srv NAME`): the master alone
/// asks, once per group, and a changed answer becomes a new generation of workers through the
/// same path as a reload (kept listeners, old workers drain), so no connection is dropped. Servers
/// keep their counters, health and runtime-control state while their address stays: their stats
/// slot belongs to the backend's name and the address.
extension Master {
    /// The names a configuration keeps resolving.
    static func watches(_ config: ProxyConfig) -> [Watch] {
        var list: [Watch] = []
        for b in config.backends {
            for s in b.servers where s.resolve { list.append(Watch(name: s.host, kind: .addresses(port: s.port))) }
            if let d = b.discover { list.append(Watch(name: d.name, kind: .srv(max: d.max))) }
        }
        return list
    }

    /// Starts, keeps or replaces the discovery service for a configuration, then waits (at most
    /// a few seconds) for the names never answered yet, so that a new generation starts with
    /// its servers. The same resolver keeps its answers and schedule.
    func configureDiscovery(_ config: ProxyConfig) throws(ProxyError) {
        let watches = Master.watches(config)
        guard let settings = config.resolver, !watches.isEmpty else {
            closeDiscovery()
            return
        }
        let policy = DiscoveryPolicy(validMs: settings.validMs.map(Int64.init))
        if let running = discovery, resolverAddress == settings.address {
            running.policy = policy
        } else {
            closeDiscovery()
            let resolver: Resolver
            do {
                resolver = try Resolver(server: settings.address) { [unowned self] change in resolverSocketChanged(change) }
            } catch {
                throw ProxyError(error.description)
            }
            discovery = DiscoveryService(resolver: resolver, policy: policy) { [unowned self] update in discovered(update) }
            resolverAddress = settings.address
        }
        discovery!.setWatches(watches)
        primeDiscovery()
        discoveryChangedAt = nil
    }

    func closeDiscovery() {
        discovery?.resolver.close()
        discovery = nil
        resolverAddress = nil
    }

    /// Runs the resolver alone until every watch has had an answer or a failure (3 s at most).
    private func primeDiscovery() {
        guard let service = discovery else { return }
        let deadline = Clock.nowMs() + 3000
        func waiting() -> Bool {
            service.plan.watches.contains { service.status(of: $0).map { $0.lastAnswerAt == nil && $0.failuresTotal == 0 } ?? false }
        }
        service.tick()
        while waiting() && Clock.nowMs() < deadline {
            let n = loop.epoll.wait(timeoutMs: 20)
            for i in 0..<n {
                let (mask, token) = loop.epoll.event(i)
                if let (role, owner) = loop.match(token), role == .dns { resolverReady(fd: owner, mask: mask) }
            }
            service.tick()
        }
    }

    func resolverReady(fd: Int32, mask: UInt32) {
        discovery?.process(fd: fd, readable: mask & (SL_EPOLLIN | SL_EPOLLERR | SL_EPOLLHUP) != 0,
                           writable: mask & SL_EPOLLOUT != 0)
    }

    /// c-ares opened, changed or is about to close one of its sockets (it closes them itself).
    private func resolverSocketChanged(_ change: SocketChange) {
        func events(_ i: SocketInterest) -> UInt32 { (i.readable ? SL_EPOLLIN : 0) | (i.writable ? SL_EPOLLOUT : 0) }
        do {
            switch change {
            case .add(let i): try loop.watch(i.fd, role: .dns, owner: i.fd, events: events(i))
            case .modify(let i): try loop.epoll.modify(i.fd, events: events(i), token: loop.registry.token(i.fd))
            case .remove(let fd): loop.forget(fd)
            }
        } catch {
            logger.error("resolver socket: \(error)")
        }
    }

    /// A lookup's outcome: a changed list calls for a new generation (made once per loop turn).
    private func discovered(_ update: WatchUpdate) {
        if let failure = update.failure {
            logger.warn("DNS lookup of \(update.watch) failed: \(failure) (\(update.status.failuresTotal) failure(s) so far); "
                + "keeping the last answer (\(update.status.servers.count) server(s))")
            return
        }
        let d = update.diff
        guard !d.isEmpty else { return }
        var parts: [String] = []
        if !d.added.isEmpty { parts.append("added " + d.added.map(\.address).joined(separator: ", ")) }
        if !d.removed.isEmpty { parts.append("removed " + d.removed.map(\.address).joined(separator: ", ")) }
        if !d.changed.isEmpty { parts.append("changed " + d.changed.map(\.address).joined(separator: ", ")) }
        logger.info("DNS: \(update.watch): " + parts.joined(separator: "; "))
        if discoveryChangedAt == nil { discoveryChangedAt = Clock.nowMs() }
    }

    /// Starts the generation that serves the servers DNS gave since the last one: 200 ms after
    /// the first change, so that answers arriving together (A and AAAA, several names of the same
    /// TTL) make one generation.
    func applyDiscoveryChanges(now: Int64) {
        guard let since = discoveryChangedAt, now - since >= 200 else { return }
        discoveryChangedAt = nil
        var open = listeners
        do {
            let next = try Master.runtime(withDiscovered(config), file: configPath, generation: runtime.generation + 1,
                                          stats: stats, listeners: &open)
            listeners = open
            switchTo(next)
            logger.info("servers updated from DNS: generation \(next.generation)")
        } catch {
            logger.error("cannot apply the servers DNS gave, keeping the running ones: \(error)")
        }
    }

    /// The configuration with each `resolve` server replaced by one server per address its name
    /// has, and each `discover srv` backend given the servers of its SRV records. A `resolve`
    /// name DNS never answered stays as written if the system resolver knows it, else it is
    /// left out until DNS answers.
    func withDiscovered(_ config: ProxyConfig) -> ProxyConfig {
        var result = config
        for i in result.backends.indices {
            let b = result.backends[i]
            var servers: [ServerConfig] = []
            for s in b.servers {
                guard s.resolve else {
                    servers.append(s)
                    continue
                }
                let found = discovery?.status(of: Watch(name: s.host, kind: .addresses(port: s.port)))?.servers ?? []
                if found.isEmpty {
                    if (try? SocketAddress.resolve(host: s.host, port: s.port)) != nil {
                        servers.append(s)
                    } else {
                        logger.warn("backend \(b.name): server \(s.address) has no address yet; left out until DNS answers")
                    }
                }
                for d in found {
                    var server = s
                    server.host = Master.host(of: d)
                    server.address = d.address
                    servers.append(server)
                }
            }
            if let d = b.discover {
                for found in discovery?.status(of: Watch(name: d.name, kind: .srv(max: d.max)))?.servers ?? [] {
                    var server = ServerConfig(host: Master.host(of: found), port: found.port, address: found.address,
                                              weight: min(max(found.weight, 1), 256))
                    server.backup = found.backup
                    servers.append(server)
                }
            }
            // One server per address: a name may also be written as a static line.
            var seen = Set<String>()
            result.backends[i].servers = servers.filter { seen.insert($0.address).inserted }
        }
        return result
    }

    /// "10.0.0.1" of "10.0.0.1:80", "::1" of "[::1]:80".
    private static func host(of server: DiscoveredServer) -> String {
        let a = server.address
        if a.hasPrefix("["), let close = a.firstIndex(of: "]") { return String(a[a.index(after: a.startIndex)..<close]) }
        return String(a[..<a.lastIndex(of: ":")!])
    }

    /// What /stats shows for each watched name.
    func discoverySnapshots() -> [DiscoverySnapshot] {
        guard let service = discovery else { return [] }
        return service.plan.watches.compactMap { w in
            service.status(of: w).map {
                DiscoverySnapshot(name: w.description, servers: $0.servers.count, failuresTotal: $0.failuresTotal,
                                  lastError: $0.lastError?.description)
            }
        }
    }
}
