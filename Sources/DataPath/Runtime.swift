import Config
import EventLoop
import Stats
import TLS

/// A configuration made ready to serve: server names resolved, certificates loaded, frontends
/// and backends indexed and given their stats slots, listeners bound. Built by the master for
/// each generation; the workers forked with it serve it.
public final class Runtime {
    public let config: ProxyConfig
    public let generation: Int
    public let frontends: [Frontend]
    public let backends: [Backend]
    let listeners: [Listener]
    /// Size of every pooled buffer: large enough for the largest allowed request head.
    let bufferSize: Int

    /// `listen` returns the listening sockets of an address, one per worker position (the
    /// master keeps them across reloads, so a kept listener's queues are never closed).
    public init(config: ProxyConfig, configFile: String, generation: Int, stats: StatsRegion,
                listen: (ListenAddress, String) throws(ProxyError) -> [Int32]) throws(ProxyError) {
        self.config = config
        self.generation = generation
        // Certificates and keys are read for every load, so a reload picks up renewed files.
        let problems = TLSServerContext.check(config, file: configFile)
        if !problems.isEmpty { throw ProxyError(problems.joined(separator: "; ")) }
        var index: [String: Int] = [:]
        for (i, b) in config.backends.enumerated() { index[b.name] = i }
        var backends: [Backend] = []
        for b in config.backends {
            var servers: [UpstreamServer] = []
            for s in b.servers { servers.append(try Runtime.server(s, of: b, stats: stats)) }
            guard let slot = stats.backendSlot(named: b.name) else { throw ProxyError("too many backends for the stats region") }
            backends.append(Backend(config: b, servers: servers, statsSlot: slot))
        }
        self.backends = backends
        var frontends: [Frontend] = []
        var listeners: [Listener] = []
        for (i, fe) in config.frontends.enumerated() {
            guard let slot = stats.frontendSlot(named: fe.name) else { throw ProxyError("too many frontends for the stats region") }
            var tls: TLSServerContext?
            if !fe.certificates.isEmpty {
                do { tls = try TLSServerContext(certificates: fe.certificates, http2: fe.http2 && fe.mode == .http) } catch {
                    throw ProxyError("frontend \(fe.name): \(error)")
                }
            }
            let router = Router(routes: fe.routes, defaultBackend: fe.defaultBackend, backendIndex: index)
            frontends.append(Frontend(config: fe, router: router, statsSlot: slot, tls: tls))
            for address in fe.listens {
                listeners.append(Listener(group: try listen(address, fe.name), frontend: i, address: address))
            }
        }
        self.frontends = frontends
        self.listeners = listeners
        let largestHead = config.frontends.map(\.maxHeaderSize).max() ?? 0
        bufferSize = max(64 * 1024, (largestHead + 4096 + 4095) / 4096 * 4096)
    }

    private static func server(_ s: ServerConfig, of b: BackendConfig, stats: StatsRegion) throws(ProxyError) -> UpstreamServer {
        let address: SocketAddress
        do { address = try SocketAddress.resolve(host: s.host, port: s.port) } catch {
            throw ProxyError("backend \(b.name): server \(s.address): \(error.call)")
        }
        guard let slot = stats.serverSlot(backend: b.name, address: s.address) else {
            throw ProxyError("too many servers for the stats region")
        }
        var tls: TLSClientContext?
        if s.tls {
            do { tls = try TLSClientContext(server: s) } catch {
                throw ProxyError("backend \(b.name): server \(s.address): \(error)")
            }
        }
        return UpstreamServer(config: s, address: address, statsSlot: slot, shared: stats.shared(server: slot), tls: tls)
    }

    /// Points every counter at the stats area of the worker that serves this runtime.
    func bind(to area: WorkerArea) {
        for f in frontends { f.counters = area.frontend(f.statsSlot) }
        for b in backends {
            b.counters = area.backend(b.statsSlot)
            for s in b.servers { s.counters = area.server(s.statsSlot) }
        }
    }
}
