import Config
import EventLoop
import Stats
import TLS

/// A configuration made ready to serve: server names resolved, frontends and backends indexed
/// and given their shared counters, listeners bound. Built by the master for each generation;
/// the workers forked with it only read it.
final class Runtime {
    let config: ProxyConfig
    let generation: Int
    let frontends: [Frontend]
    let backends: [Backend]
    let listeners: [Listener]
    /// Size of every pooled buffer: large enough for the largest allowed request head.
    let bufferSize: Int

    /// `listeners` maps "host:port" to an open listening socket; addresses not in it are opened
    /// and added (the master keeps the map across reloads, so a kept listener is never closed).
    init(config: ProxyConfig, configFile: String, generation: Int, stats: StatsRegion,
         listeners open: inout [String: Int32]) throws(ProxyError) {
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
            for s in b.servers {
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
                servers.append(UpstreamServer(config: s, address: address, counters: stats.server(slot), tls: tls))
            }
            guard let slot = stats.backendSlot(named: b.name) else { throw ProxyError("too many backends for the stats region") }
            backends.append(Backend(config: b, servers: servers, counters: stats.backend(slot)))
        }
        self.backends = backends
        var frontends: [Frontend] = []
        var listeners: [Listener] = []
        for (i, fe) in config.frontends.enumerated() {
            guard let slot = stats.frontendSlot(named: fe.name) else { throw ProxyError("too many frontends for the stats region") }
            var tls: TLSServerContext?
            if !fe.certificates.isEmpty {
                do { tls = try TLSServerContext(certificates: fe.certificates) } catch {
                    throw ProxyError("frontend \(fe.name): \(error)")
                }
            }
            frontends.append(Frontend(config: fe, backendIndex: index, counters: stats.frontend(slot), tls: tls))
            for address in fe.listens {
                let fd = try Runtime.listener(address, frontend: fe.name, open: &open)
                listeners.append(Listener(fd: fd, frontend: i, address: address))
            }
        }
        self.frontends = frontends
        self.listeners = listeners
        let largestHead = config.frontends.map(\.maxHeaderSize).max() ?? 0
        bufferSize = max(64 * 1024, (largestHead + 4096 + 4095) / 4096 * 4096)
    }

    static func listener(_ address: ListenAddress, frontend: String, open: inout [String: Int32]) throws(ProxyError) -> Int32 {
        let key = address.description
        if let fd = open[key] { return fd }
        guard let sa = SocketAddress(ip: address.host, port: address.port) else {
            throw ProxyError("frontend \(frontend): invalid listen address \(key)")
        }
        do {
            let fd = try Socket.listen(sa)
            open[key] = fd
            return fd
        } catch {
            throw ProxyError("frontend \(frontend): cannot listen on \(key): \(Syscall.errorString(error.code))")
        }
    }
}
